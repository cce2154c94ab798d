// Splitting one AR command line into words and NAME=value pairs.
//
// The AR accepts `NAME=value`, `NAME = value` and `NAME= value` alike, bare values up to
// the next blank, and double-quoted strings that may hold blanks and '=' (`\"` and `\\`
// escape inside quotes). `#` at the start of a word begins a comment to end of line;
// inside a word or a value it is an ordinary character (passwords may contain it).
// The partial mode serves completion: an open quote or a trailing '=' is not an error.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace arsec::lang {

struct Token {
  std::string name;          // the word before '=' (or the whole word)
  bool name_quoted = false;  // a quoted string stood where a word belongs
  bool has_value = false;    // an '=' followed the word
  bool value_missing = false;// ... but no value followed it
  std::string value;
  bool value_quoted = false;
  size_t pos = 0;            // offset of the word in the line
  size_t value_pos = 0;      // offset of the value (after the quote, if quoted)
};

struct Lexed {
  std::vector<Token> tokens;
  bool trailing_space = false;  // the line ends in blanks (completion: a new word starts)
  bool open_quote = false;      // partial mode: the last value's quote is still open
  bool comment = false;         // a '#' comment ended the line
};

// Errors are full AR reply lines (messages.h): unterminated quote, a stray '='.
absl::StatusOr<Lexed> Tokenize(std::string_view line, bool partial = false);

// Quotes `value` if it could not be read back as one bare value.
std::string QuoteIfNeeded(std::string_view value);
// Always quotes, escaping '"' and '\\'.
std::string Quote(std::string_view value);

}  // namespace arsec::lang
