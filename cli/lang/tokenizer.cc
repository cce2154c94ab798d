// The lexer of the AR command language (rules in tokenizer.h).
#include "cli/lang/tokenizer.h"

#include "cli/lang/messages.h"

namespace arsec::lang {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool EndsBare(char c) { return IsBlank(c) || c == '=' || c == '"'; }

// Reads a quoted string starting at line[i] == '"'. On return i is past the closing quote.
// Returns false when the quote is never closed.
bool ReadQuoted(std::string_view line, size_t& i, std::string& out) {
  ++i;
  while (i < line.size()) {
    char c = line[i];
    if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
      out.push_back(line[i + 1]);
      i += 2;
      continue;
    }
    if (c == '"') {
      ++i;
      return true;
    }
    out.push_back(c);
    ++i;
  }
  return false;
}

void SkipBlanks(std::string_view line, size_t& i) {
  while (i < line.size() && IsBlank(line[i])) ++i;
}

}  // namespace

absl::StatusOr<Lexed> Tokenize(std::string_view line, bool partial) {
  Lexed out;
  size_t i = 0;
  while (true) {
    SkipBlanks(line, i);
    if (i >= line.size()) break;
    char c = line[i];
    if (c == '#') {  // comment to end of line
      out.comment = true;
      break;
    }
    if (c == '=') return ErrorStatus(Module::kLang, Msg::kUnexpectedToken, "=");
    Token tok;
    tok.pos = i;
    if (c == '"') {
      tok.name_quoted = true;
      if (!ReadQuoted(line, i, tok.name)) {
        if (partial) {
          out.open_quote = true;
          out.tokens.push_back(std::move(tok));
          return out;
        }
        return ErrorStatus(Module::kLang, Msg::kUnterminatedQuote);
      }
      if (i < line.size() && !IsBlank(line[i]) && line[i] != '=')
        return ErrorStatus(Module::kLang, Msg::kUnexpectedToken, line.substr(i, 1));
    } else {
      while (i < line.size() && !EndsBare(line[i])) tok.name.push_back(line[i++]);
      if (i < line.size() && line[i] == '"')
        return ErrorStatus(Module::kLang, Msg::kUnexpectedToken, "\"");
    }
    // An '=' may follow after blanks: `NAME = value`.
    size_t j = i;
    SkipBlanks(line, j);
    if (j < line.size() && line[j] == '=') {
      tok.has_value = true;
      i = j + 1;
      size_t k = i;
      SkipBlanks(line, k);
      if (k >= line.size()) {
        tok.value_missing = true;
        tok.value_pos = line.size();
        i = k;
      } else if (line[k] == '"') {
        tok.value_quoted = true;
        tok.value_pos = k + 1;
        i = k;
        if (!ReadQuoted(line, i, tok.value)) {
          if (partial) {
            out.open_quote = true;
            out.tokens.push_back(std::move(tok));
            return out;
          }
          return ErrorStatus(Module::kLang, Msg::kUnterminatedQuote);
        }
        if (i < line.size() && !IsBlank(line[i]))
          return ErrorStatus(Module::kLang, Msg::kUnexpectedToken, line.substr(i, 1));
      } else if (line[k] == '=') {
        return ErrorStatus(Module::kLang, Msg::kUnexpectedToken, "=");
      } else {
        // A blank after '=' and then `WORD=`: the user left this value out
        // (`INTERFACE= IP=1.2.3.4`); say so rather than take WORD as the value.
        size_t e = k;
        while (e < line.size() && !EndsBare(line[e])) ++e;
        size_t f = e;
        SkipBlanks(line, f);
        if (k > i && f < line.size() && line[f] == '=') {
          tok.value_missing = true;
          tok.value_pos = i;
        } else {
          tok.value.assign(line.substr(k, e - k));
          tok.value_pos = k;
          i = e;
          if (i < line.size() && line[i] == '"')
            return ErrorStatus(Module::kLang, Msg::kUnexpectedToken, "\"");
          if (i < line.size() && line[i] == '=')
            return ErrorStatus(Module::kLang, Msg::kUnexpectedToken, "=");
        }
      }
    }
    out.tokens.push_back(std::move(tok));
  }
  out.trailing_space = !line.empty() && IsBlank(line.back());
  return out;
}

std::string QuoteIfNeeded(std::string_view value) {
  bool needs = value.empty() || value.front() == '#';
  for (char c : value) {
    if (IsBlank(c) || c == '=' || c == '"' || c == '\\') {
      needs = true;
      break;
    }
  }
  if (!needs) return std::string(value);
  return Quote(value);
}

std::string Quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace arsec::lang
