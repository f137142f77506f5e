import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

/**
 * A real single-node Apache Kafka broker (KRaft, broker + controller in one JVM) started from Maven Central
 * jars, for development and tests on machines without Docker. Jars and data live in the git-ignored
 * .cache/kafka; starting is idempotent (a broker already answering on the port is reused) and the broker runs
 * detached until `npm run kafka -- stop`.
 *
 *   npm run kafka -- start | stop | status
 */
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const pom = join(projectRoot, 'scripts/kafka/pom.xml');

export type BrokerOptions = { port?: number; controllerPort?: number; cacheDir?: string; log?: (msg: string) => void };
export type Broker = { brokers: string[]; startedHere: boolean; stop(): Promise<void> };

function settings(opts: BrokerOptions) {
  const port = opts.port ?? Number(process.env.KAFKA_PORT ?? 19092);
  const controllerPort = opts.controllerPort ?? port + 1;
  const cacheDir = resolve(opts.cacheDir ?? join(projectRoot, '.cache/kafka'));
  return {
    port,
    controllerPort,
    cacheDir,
    libs: join(cacheDir, 'libs'),
    dir: join(cacheDir, `broker-${port}`),
    log: opts.log ?? ((m: string) => process.stderr.write(`[kafka] ${m}\n`)),
  };
}

function have(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

const installHint =
  'A Kafka broker is needed. Either set KAFKA_BROKERS=host:port to use an existing broker, or install a Java 17+ JDK and Apache Maven ' +
  '(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless maven) so that the project can start one from Maven Central jars.';

/** Downloads Kafka's jars once (marker file written only after a complete copy). */
function ensureJars(s: ReturnType<typeof settings>): void {
  const marker = join(s.libs, '.complete');
  if (existsSync(marker)) return;
  if (!have('java', ['-version'])) throw new Error(`java was not found. ${installHint}`);
  if (!have('mvn', ['-v'])) throw new Error(`mvn was not found. ${installHint}`);
  s.log(`fetching Apache Kafka jars from Maven Central into ${s.libs} (once)`);
  rmSync(s.libs, { recursive: true, force: true });
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      pom,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${s.libs}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (r.status !== 0)
    throw new Error(`mvn could not fetch the Kafka jars (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  writeFileSync(marker, new Date().toISOString());
}

async function answers(brokers: string[], timeoutMs: number): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'broker-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.disconnect();
      return true;
    } catch {
      await admin.disconnect().catch(() => {});
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function writeConfig(s: ReturnType<typeof settings>): string {
  mkdirSync(s.dir, { recursive: true });
  const file = join(s.dir, 'server.properties');
  writeFileSync(
    file,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${s.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${s.port},CONTROLLER://127.0.0.1:${s.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${s.port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(s.dir, 'data')}`,
      'num.partitions=3',
      'auto.create.topics.enable=true',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'log.retention.hours=24',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(s.dir, 'log4j.properties'),
    [
      'log4j.rootLogger=WARN, file',
      'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${join(s.dir, 'broker.log')}`,
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
      '',
    ].join('\n'),
  );
  return file;
}

export async function ensureBroker(opts: BrokerOptions = {}): Promise<Broker> {
  const s = settings(opts);
  const brokers = [`127.0.0.1:${s.port}`];
  if (await answers(brokers, 500)) return { brokers, startedHere: false, stop: async () => {} };
  ensureJars(s);
  const config = writeConfig(s);
  const cp = `${s.libs}/*`;
  if (!existsSync(join(s.dir, 'data', 'meta.properties'))) {
    const uuid = spawnSync('java', ['-cp', cp, 'kafka.tools.StorageTool', 'random-uuid'], {
      encoding: 'utf8',
    }).stdout.trim();
    const format = spawnSync(
      'java',
      [
        '-cp',
        cp,
        `-Dlog4j.configuration=file:${join(s.dir, 'log4j.properties')}`,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        uuid,
        '-c',
        config,
        '-g',
      ],
      { encoding: 'utf8' },
    );
    if (format.status !== 0) throw new Error(`formatting Kafka storage failed:\n${format.stdout}\n${format.stderr}`);
  }
  const out = openSync(join(s.dir, 'stdout.log'), 'a');
  const child = spawn(
    'java',
    [
      '-Xmx512m',
      '-XX:+UseG1GC',
      `-Dlog4j.configuration=file:${join(s.dir, 'log4j.properties')}`,
      '-cp',
      cp,
      'kafka.Kafka',
      config,
    ],
    {
      detached: true,
      stdio: ['ignore', out, out],
    },
  );
  child.unref();
  writeFileSync(join(s.dir, 'broker.pid'), String(child.pid));
  s.log(`starting broker on ${brokers[0]} (pid ${child.pid}, data in ${s.dir})`);
  if (!(await answers(brokers, 90_000))) {
    const tail = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-30).join('\n') : '');
    throw new Error(
      `Kafka broker did not become ready within 90 s.\n${tail(join(s.dir, 'stdout.log'))}\n${tail(join(s.dir, 'broker.log'))}`,
    );
  }
  return {
    brokers,
    startedHere: true,
    stop: async () => {
      await stopBroker(opts);
    },
  };
}

export async function stopBroker(opts: BrokerOptions = {}): Promise<boolean> {
  const s = settings(opts);
  const pidFile = join(s.dir, 'broker.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (alive()) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
  return true;
}

async function cli(command: string | undefined): Promise<number> {
  const s = settings({});
  switch (command) {
    case 'start': {
      const b = await ensureBroker();
      process.stdout.write(`${b.startedHere ? 'started' : 'already running'}: KAFKA_BROKERS=${b.brokers.join(',')}\n`);
      return 0;
    }
    case 'stop':
      process.stdout.write((await stopBroker()) ? 'stopped\n' : 'no broker started by this project is running\n');
      return 0;
    case 'status': {
      const up = await answers([`127.0.0.1:${s.port}`], 1000);
      process.stdout.write(up ? `running: KAFKA_BROKERS=127.0.0.1:${s.port}\n` : 'not running\n');
      return up ? 0 : 1;
    }
    default:
      process.stdout.write(
        'usage: npm run kafka -- start | stop | status   (KAFKA_PORT to change the port, default 19092)\n',
      );
      return command === undefined ? 0 : 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv[2]).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
