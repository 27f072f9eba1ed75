# Sourced by bin/tansa and bin/test: sets $jdk to a JDK 25+ (JAVA_HOME if new enough, else Temurin 25).
# The major version from the JDK's release file (no JVM start); 0 when unknown.
java_major() { # bash builtins only: no subprocess on the launcher's path
  local line v=0
  if [[ -r "$1/release" ]]; then
    while IFS= read -r line; do
      if [[ $line =~ ^JAVA_VERSION=\"([0-9]+) ]]; then v=${BASH_REMATCH[1]}; break; fi
    done < "$1/release"
  fi
  echo "$v"
}
find_jdk() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && (( $(java_major "$JAVA_HOME") >= 25 )); then
    echo "$JAVA_HOME"; return
  fi
  for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/java-2[5-9]* /usr/lib/jvm/jdk-2[5-9]*; do
    if [[ -x "$d/bin/java" ]] && (( $(java_major "$d") >= 25 )); then echo "$d"; return; fi
  done
  echo "tansa: needs a JDK 25 or newer (set JAVA_HOME, or install Temurin 25 under /usr/lib/jvm)" >&2
  return 1
}
jdk="$(find_jdk)"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
