# Shared by ./start (one node) and ./cluster (several): Java, the Maven-built classpath, JVM
# flags, and how a node process is recognised and ended. Sourced; the caller defines say/die.
HOST=127.0.0.1
MAIN=linkage.engine.EngineMain

now() { date +%s; }
is_number() { case ${1:-} in ''|*[!0-9]*) return 1;; esac; return 0; }

# is_ours PID DATA: the process is alive and is the runner started on DATA
is_ours() {
    [ -n "$1" ] && [ -n "$2" ] || return 1
    kill -0 "$1" 2>/dev/null || return 1
    args=$(ps -ww -p "$1" -o args= 2>/dev/null) || return 1
    case $args in *"$MAIN"*"$2"*) return 0;; esac
    return 1
}

# remove_data DIR: only directories these scripts created (mktemp name pattern)
remove_data() {
    case ${1:-} in
        */linkage-engine.*) [ -d "$1" ] && rm -rf "$1" ;;
    esac
    return 0
}

# kill_node PID: TERM, up to 30 s for a clean shutdown, then KILL
kill_node() {
    [ -n "${1:-}" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
    kill -KILL "$1" 2>/dev/null || true
}

# port_free PORT: nothing listens on HOST:PORT (curl's exit 7 is "connection refused")
port_free() {
    rc=0; curl -s -m 5 -o /dev/null "http://$HOST:$1/" 2>/dev/null || rc=$?
    [ "$rc" -eq 7 ]
}

# find_java: JAVA and JAVA_VERSION, or die (OpenSearch 2.19 runs on 17 or newer)
find_java() {
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi
    command -v "$JAVA" >/dev/null 2>&1 || die "no java found (install a JDK 17+ or set JAVA_HOME)"
    JAVA_VERSION=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n 1)
    [ -n "$JAVA_VERSION" ] && [ "$JAVA_VERSION" -ge 17 ] ||
        die "OpenSearch 2.19 needs Java 17+, '$JAVA' is version ${JAVA_VERSION:-unknown}"
}

# resolve_classpath: CP, after resolving and compiling with Maven once (cached under target/)
resolve_classpath() {
    CPFILE="$HERE/target/classpath.txt"
    if ! classpath_cached; then
        command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is required to resolve the node's jars"
        say "resolving OpenSearch jars and compiling with Maven (first run downloads ~80 MB into ~/.m2) ..."
        t0=$(now)
        mkdir -p "$HERE/target"
        mvnlog=$(mktemp -t linkage-engine-mvn.XXXXXX)
        rm -f "$CPFILE"
        if ! mvn -q -B -f "$HERE/pom.xml" compile dependency:build-classpath \
                -Dmdep.outputFile="$CPFILE.tmp" >"$mvnlog" 2>&1 </dev/null; then
            cat "$mvnlog" >&2; rm -f "$mvnlog" "$CPFILE.tmp"
            die "Maven could not resolve the node's dependencies"
        fi
        rm -f "$mvnlog"
        mv "$CPFILE.tmp" "$CPFILE"
        say "resolved in $(( $(now) - t0 ))s"
    fi
    CP="$HERE/target/classes:$(cat "$CPFILE")"
}

classpath_cached() {
    [ -s "$CPFILE" ] && [ ! "$HERE/pom.xml" -nt "$CPFILE" ] || return 1
    [ -f "$HERE/target/classes/linkage/engine/EngineMain.class" ] || return 1
    [ -z "$(find "$HERE/src" -type f -newer "$CPFILE" 2>/dev/null | head -n 1)" ] || return 1
    # every cached jar must still be in the local repository
    old_ifs=$IFS; IFS=:
    for jar in $(cat "$CPFILE"); do [ -f "$jar" ] || { IFS=$old_ifs; return 1; }; done
    IFS=$old_ifs
}

# jvm_opts [FLAGS]: JVM_OPTS from config/jvm.options, then FLAGS, then LINKAGE_ENGINE_JAVA_OPTS
# (a later -Xmx wins over an earlier one)
jvm_opts() {
    JVM_OPTS=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$HERE/config/jvm.options" | tr '\n' ' ')
    JVM_OPTS="$JVM_OPTS ${1:-} ${LINKAGE_ENGINE_JAVA_OPTS:-}"
}
