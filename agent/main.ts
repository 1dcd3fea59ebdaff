// `npm run agent -- --module /path/to/pkcs11.so [--origin URL…] [--port N]`: starts the signing
// agent on 127.0.0.1. Environment fallbacks: YAGONA_AGENT_MODULE, YAGONA_AGENT_ORIGINS (comma
// list), YAGONA_AGENT_PORT, and ISSUER_URL for the default trusted origin (as the service),
// from the environment or a .env file in the working directory (src/config.ts readEnvironment).
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, readEnvironment, type Environment } from '../src/config.ts';
import { defaultAgentPort, originOf } from '../src/login/originBinding.ts';
import { agentVersion } from '../src/token/agentRelease.ts';
import { openTokenModule } from '../src/token/pkcs11.ts';
import { startAgent } from './server.ts';

let env: Environment;
try {
  env = readEnvironment();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`yagona-agent: ${error.message}`);
  process.exit(2);
}

// A bad YAGONA_AGENT_PORT is bad configuration like a bad .env value: one line, exit 2 (commander
// only turns --port's own argument errors into a message).
let envPort = defaultAgentPort;
if (env.YAGONA_AGENT_PORT !== undefined) {
  try {
    envPort = parsePort(env.YAGONA_AGENT_PORT);
  } catch (error) {
    console.error(`yagona-agent: YAGONA_AGENT_PORT: ${(error as Error).message}`);
    process.exit(2);
  }
}

const program = new Command('yagona-agent')
  .description('Yagona ID signing agent: signs sign-in challenges with the key on your token')
  .option('--module <path>', 'PKCS#11 module of your token (.so / .dll / .dylib)', env.YAGONA_AGENT_MODULE)
  .option('--origin <url...>', 'sign-in service origins to serve (default: ISSUER_URL, else http://localhost:8080)')
  .option('--port <n>', 'loopback port', parsePort, envPort)
  .parse();

const options = program.opts<{ module?: string; origin?: string[]; port: number }>();
const configured = options.origin ?? env.YAGONA_AGENT_ORIGINS?.split(',').map((s) => s.trim()).filter(Boolean)
  ?? [env.ISSUER_URL ?? 'http://localhost:8080'];
let origins: string[];
try {
  origins = configured.map(originOf);
} catch (error) {
  console.error(`yagona-agent: ${(error as Error).message}`);
  process.exit(2);
}

// No top-level await: the packaged agent (agent/package/) runs this as a CommonJS bundle.
void startAgent({
  module: options.module === undefined ? undefined : openTokenModule(options.module),
  origins,
  port: options.port,
  log: (line) => console.error(line),
}).then((agent) => {
  console.log(`yagona-agent ${agentVersion} listening on ${agent.url} for ${origins.join(', ')}; module ${options.module ?? '(none: --module)'}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void agent.close().then(() => process.exit(0)));
  }
}, (error: Error) => {
  console.error(`yagona-agent: cannot listen on 127.0.0.1:${options.port}: ${error.message}`);
  process.exit(1);
});

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`not a port: ${text}`);
  return port;
}
