// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil (20220623) does not ship them.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ARSEC_CONCAT_INNER(a, b) a##b
#define ARSEC_CONCAT(a, b) ARSEC_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status _arsec_st = (expr);         \
    if (!_arsec_st.ok()) return _arsec_st;     \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(ARSEC_CONCAT(_arsec_sor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
