# Kafka: broker and controller in one KRaft node, jars fetched from Maven Central.
KAFKA_VERSION=4.4.0
LOG4J_VERSION=2.25.5
KAFKA_PORT="${FACETRAIL_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${FACETRAIL_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
KAFKA_PID="$VAR/kafka.pid"
KAFKA_LOG="$VAR/kafka.log"
KAFKA_CONF="$VAR/kafka"
KAFKA_READY_TIMEOUT="${FACETRAIL_KAFKA_READY_TIMEOUT:-120}"

kafka_install() {
    [[ -f "$KAFKA_HOME/libs/.complete" ]] && return 0
    need java "install a Java 17 runtime: apt-get install -y openjdk-17-jre-headless"
    need mvn "install Maven: apt-get install -y maven"
    say "kafka: fetching kafka_2.13 $KAFKA_VERSION and its runtime jars with Maven"
    mkdir -p "$KAFKA_HOME"
    # A throwaway pom whose only job is to name the broker's runtime dependencies.
    cat >"$KAFKA_HOME/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>facetrail.services</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- routes the broker's slf4j logging into log4j2 (the broker ships log4j-core without a binding) -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
    rm -rf "$KAFKA_HOME/libs.tmp"
    if ! mvn -B -Dstyle.color=never -f "$KAFKA_HOME/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs.tmp" >"$VAR/maven.log" 2>&1; then
        grep -E "ERROR" "$VAR/maven.log" | head -n 5 >&2 || true
        die "kafka: Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION; see $VAR/maven.log"
    fi
    rm -rf "$KAFKA_HOME/libs"
    mv "$KAFKA_HOME/libs.tmp" "$KAFKA_HOME/libs"
    touch "$KAFKA_HOME/libs/.complete"
}

kafka_configure() {
    mkdir -p "$KAFKA_CONF" "$VAR/kafka-data"
    cat >"$KAFKA_CONF/server.properties" <<PROPS
# Written by scripts/services; edits are overwritten on the next up.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$VAR/kafka-data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=168
PROPS
    # Warnings only, plus the one line that says the server is up (the readiness signal).
    cat >"$KAFKA_CONF/log4j2.properties" <<'LOG'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = out
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = info
LOG
}

kafka_java() {
    java -Xmx512m -Xms128m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$KAFKA_CONF/log4j2.properties" \
        -cp "$KAFKA_HOME/libs/*" "$@"
}

kafka_format() {
    [[ -f "$VAR/kafka-data/meta.properties" ]] && return 0
    local cluster_id
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    [[ -n "$cluster_id" ]] || die "kafka: StorageTool random-uuid printed nothing"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" \
        -c "$KAFKA_CONF/server.properties" --standalone >>"$KAFKA_LOG" 2>&1 ||
        die "kafka: formatting $VAR/kafka-data failed; see $KAFKA_LOG"
}

kafka_started() { grep -q "Kafka Server started" "$KAFKA_LOG" && port_open "$KAFKA_PORT"; }

kafka_up() {
    if pid_alive "$KAFKA_PID" kafka.Kafka; then
        say "kafka: already running on $HOST:$KAFKA_PORT (pid $(cat "$KAFKA_PID"))"
        return 0
    fi
    port_open "$KAFKA_PORT" && die "kafka: $HOST:$KAFKA_PORT is taken by a process this script did not start"
    need java "install a Java 17 runtime: apt-get install -y openjdk-17-jre-headless"
    kafka_install
    kafka_configure
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
    kafka_format
    nohup java -Xmx512m -Xms128m -XX:+UseG1GC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$KAFKA_CONF/log4j2.properties" \
        -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_CONF/server.properties" \
        </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
    echo $! >"$KAFKA_PID"
    if ! wait_for "$KAFKA_READY_TIMEOUT" kafka_started; then
        tail -n 20 "$KAFKA_LOG" >&2 || true
        stop_pid "$KAFKA_PID" kafka.Kafka 10
        die "kafka: not ready after ${KAFKA_READY_TIMEOUT}s; see $KAFKA_LOG"
    fi
    say "kafka: listening on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT), pid $(cat "$KAFKA_PID")"
}

kafka_down() {
    stop_pid "$KAFKA_PID" kafka.Kafka 60
    say "kafka: stopped"
}

kafka_status() {
    if pid_alive "$KAFKA_PID" kafka.Kafka && port_open "$KAFKA_PORT"; then
        say "kafka: running on $HOST:$KAFKA_PORT (pid $(cat "$KAFKA_PID"))"
    else
        say "kafka: stopped"
        return 1
    fi
}
