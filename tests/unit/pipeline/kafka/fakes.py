"""Scripts that stand in for ``java`` and ``mvn`` in unit tests."""

FAKE_JAVA = """#!/bin/sh
echo 'openjdk version "{version}" 2025-04-15' >&2
"""

FAKE_MVN_OK = """#!/bin/sh
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}";; esac
done
: > "$out/kafka_2.13-4.1.1.jar"
: > "$out/kafka-clients-4.1.1.jar"
echo "$@" >> "$out/../mvn-calls"
"""

FAKE_MVN_FAIL = """#!/bin/sh
echo "[ERROR] Failed to execute goal on project kafka-runtime: Could not resolve dependencies"
exit 1
"""
