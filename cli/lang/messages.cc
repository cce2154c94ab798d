// The message table's storage and the code arithmetic (scheme in messages.h).
#include "cli/lang/messages.h"

namespace arsec::lang {

const std::vector<MessageInfo>& AllMessages() {
  static const std::vector<MessageInfo> kAll = {
#define ARSEC_LANG_MSG_INFO(name, num, text) {Msg::name, #name, text},
      ARSEC_LANG_MESSAGES(ARSEC_LANG_MSG_INFO)
#undef ARSEC_LANG_MSG_INFO
  };
  return kAll;
}

std::string_view MessageTemplate(Msg msg) {
  switch (msg) {
#define ARSEC_LANG_MSG_CASE(name, num, text) \
  case Msg::name:                            \
    return text;
    ARSEC_LANG_MESSAGES(ARSEC_LANG_MSG_CASE)
#undef ARSEC_LANG_MSG_CASE
  }
  return "$0";
}

int MessageCode(bool error, Module module, Msg msg) {
  return (error ? 3 : 1) * 100000 + static_cast<int>(module) * 1000 + static_cast<int>(msg);
}

}  // namespace arsec::lang
