# Sourced by bin/tansa and bin/test: sets $jdk to a JDK 25+ (JAVA_HOME if new enough, else Temurin 25).
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1; }
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
