#!/usr/bin/env bash
# The GitHub Action's step (action.yml): runs `weightaudit audit` or
# `weightaudit verify` on a SOURCE, writes the Markdown report to the job's
# step summary and a JUnit report to a file, and exits with the command's
# exit code (0 nothing wrong, 1 problems found, 2 could not complete, 3 no
# model at SOURCE, 4 usage error), so the job fails when the artifact does.
#
# Inputs come from the environment, never spliced into the script:
#   WEIGHTAUDIT_COMMAND  audit (default) or verify
#   WEIGHTAUDIT_SOURCE   what to check: a path, hf://owner/repo, oci://…;
#                        empty audits the built-in reference layout
#   WEIGHTAUDIT_ARGS     more flags, split on white space (no globbing)
#   WEIGHTAUDIT_JUNIT    the JUnit file (default weightaudit-junit.xml)
#   WEIGHTAUDIT_BIN      the command (default weightaudit on PATH)
#   GITHUB_STEP_SUMMARY, GITHUB_OUTPUT  set by the runner
set -uo pipefail

cmd="${WEIGHTAUDIT_COMMAND:-audit}"
case "$cmd" in
audit | verify) ;;
*)
	echo "::error title=weightaudit::command must be audit or verify, got '$cmd'"
	exit 4
	;;
esac
bin="${WEIGHTAUDIT_BIN:-weightaudit}"
junit="${WEIGHTAUDIT_JUNIT:-weightaudit-junit.xml}"

args=()
if [ -n "${WEIGHTAUDIT_SOURCE:-}" ]; then
	args+=("$WEIGHTAUDIT_SOURCE")
fi
# A release whose command has no --report flag yet still runs: only the
# summary and the JUnit file are left out.
if "$bin" "$cmd" --help 2>/dev/null | grep -q -- '--report'; then
	if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
		args+=(--report "markdown=$GITHUB_STEP_SUMMARY")
	fi
	args+=(--report "junit=$junit")
else
	echo "::warning title=weightaudit::this version's $cmd writes no --report: no step summary or JUnit file"
fi
set -f
# shellcheck disable=SC2206 # split the flags on white space, on purpose
extra=(${WEIGHTAUDIT_ARGS:-})
set +f

"$bin" "$cmd" "${args[@]}" "${extra[@]}"
code=$?
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "exit-code=$code" >>"$GITHUB_OUTPUT"
fi
case $code in
0) ;;
1) echo "::error title=weightaudit $cmd::the artifact has problems (exit 1): see the step summary" ;;
2) echo "::error title=weightaudit $cmd::could not complete (exit 2): network, timeout or I/O; retry" ;;
3) echo "::error title=weightaudit $cmd::no model at '${WEIGHTAUDIT_SOURCE:-}' (exit 3)" ;;
*) echo "::error title=weightaudit $cmd::exit $code" ;;
esac
exit "$code"
