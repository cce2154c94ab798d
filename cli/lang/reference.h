// The command reference (docs/command-reference.md) generated from the command table and
// the message table, so the document cannot drift from what the parser accepts:
// `arsec --reference > docs/command-reference.md` regenerates it, and the lang unit test
// fails when the checked-in file differs.
#pragma once

#include <string>
#include <vector>

#include "cli/lang/command_spec.h"

namespace arsec::lang {

std::string CommandReferenceMarkdown(const std::vector<CommandSpec>& table = CommandTable());

}  // namespace arsec::lang
