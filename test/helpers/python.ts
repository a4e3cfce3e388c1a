import { existsSync } from "node:fs";

/**
 * The Python the tests run bots and KissBot's writers with: Debian's, which
 * scripts/install-test-deps.sh installs with python3-prometheus-client. It starts in about 30 ms;
 * a version manager's `python3` shim on PATH (pyenv's) takes 400 ms a start, and the suite starts
 * Python hundreds of times.
 */
export const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
