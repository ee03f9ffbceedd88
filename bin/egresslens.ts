#!/usr/bin/env node
/** The egresslens command line. Each subcommand lives in bin/commands/. */
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { checkExposure } from '../schemas/config.js';
import { configFromFlags, REPORT_OPTIONS, SERVE_OPTIONS, STORE_OPTIONS } from './config-flags.js';
import { rerunWithDetachedStdin, stdinCarriesData } from './detached-stdin.js';
import { describeError, exitCodeOf } from './error-message.js';
import { UsageError } from './usage-error.js';

const USAGE = `usage: egresslens <command> [options]

commands:
  serve     run ingest (Fluent Bit HTTP, Kafka) and the API; embedded store by default
  ingest    load access-log files or stdin into the store
  report    service-entries | blocked | timeouts | hosts, once (YAML, JSON or a table)
  parse     parse access-log lines to JSON records (stdout)
  help      help [command]: a command's options

  --version  print the version

Run "egresslens <command> --help" for a command's options.`;

const COMMANDS = ['serve', 'ingest', 'report', 'parse'] as const;
type Command = (typeof COMMANDS)[number];

/** Usage texts live with their commands, which are loaded when run (`parse` must not pay for chDB). */
async function usageOf(command: Command): Promise<string> {
  switch (command) {
    case 'parse':
      return (await import('./commands/parse.js')).parseUsage;
    case 'serve':
      return (await import('./commands/serve.js')).serveUsage;
    case 'ingest':
      return (await import('./commands/ingest.js')).ingestUsage;
    case 'report':
      return (await import('./commands/report.js')).reportUsage;
  }
}

function version(): string {
  // dist/bin/egresslens.js and bin/egresslens.ts sit at different depths below package.json.
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string };
      if (pkg.name === 'egresslens') return (pkg as { version: string }).version;
    } catch {
      // not at this depth
    }
  }
  return 'unknown';
}

function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(
  command: Command,
  args: string[],
  options: O,
) {
  try {
    return parseArgs({ args, allowPositionals: true as const, options, strict: true as const });
  } catch (err) {
    const usage = new UsageError((err as Error).message);
    usage.command = command;
    throw usage;
  }
}

function usageError(command: Command, message: string): UsageError {
  const err = new UsageError(message);
  err.command = command;
  return err;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Commands that open chDB must not leave it a stdin that carries data (see detached-stdin.ts).
  if ((command === 'ingest' || command === 'report' || command === 'serve') && stdinCarriesData()) {
    const wantsHelp = rest.includes('--help') || rest.includes('-h');
    if (!wantsHelp) return rerunWithDetachedStdin();
  }
  switch (command) {
    case 'parse': {
      const { values, positionals } = parseFlags('parse', rest, {
        format: { type: 'string', short: 'f' },
        help: { type: 'boolean', short: 'h' },
      });
      if (values.help) return help(await usageOf('parse'));
      if (positionals.length > 1) throw usageError('parse', 'parse takes at most one FILE');
      const { runParse } = await import('./commands/parse.js');
      return runParse({ format: values.format as string | undefined, file: positionals[0] });
    }
    case 'serve': {
      const { values, positionals } = parseFlags('serve', rest, SERVE_OPTIONS);
      if (values.help) return help(await usageOf('serve'));
      if (positionals.length)
        throw usageError('serve', `serve takes no arguments (got ${positionals.join(' ')})`);
      // Configuration mistakes are told before the server's modules (chDB, fastify) take seconds to load.
      const config = configFromFlags(values);
      checkExposure(config);
      const { runServe } = await import('./commands/serve.js');
      return runServe(config);
    }
    case 'ingest': {
      const { values, positionals } = parseFlags('ingest', rest, STORE_OPTIONS);
      if (values.help) return help(await usageOf('ingest'));
      const { runIngest } = await import('./commands/ingest.js');
      return runIngest(configFromFlags(values), positionals);
    }
    case 'report': {
      const { values, positionals } = parseFlags('report', rest, REPORT_OPTIONS);
      if (values.help) return help(await usageOf('report'));
      if (positionals.length !== 1) throw usageError('report', 'report takes one report name');
      const { format, ...storeFlags } = values;
      const { runReport } = await import('./commands/report.js');
      return runReport(configFromFlags({ ...storeFlags, registry: values.registry }), {
        kind: positionals[0],
        since: values.since,
        until: values.until,
        namespace: values.namespace,
        format,
        apiVersion: values['api-version'],
        entryNamespace: values['entry-namespace'],
        exportTo: values['export-to'],
        clusterDomain: values['cluster-domain'],
        limit: values.limit,
        offset: values.offset,
        cidrPrefixV4: values['cidr-prefix-v4'],
        cidrPrefixV6: values['cidr-prefix-v6'],
        server: values.server,
        authToken: values['auth-token'],
      });
    }
    case 'help': {
      const topic = rest[0];
      if (topic === undefined) return help(USAGE);
      if (!COMMANDS.includes(topic as Command)) throw new UsageError(`no command ${JSON.stringify(topic)}`);
      return help(await usageOf(topic as Command));
    }
    case '--version':
    case '-V':
    case 'version':
      return help(`egresslens ${version()}`);
    case undefined:
    case '-h':
    case '--help':
      return help(USAGE);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function help(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    if (err instanceof UsageError) {
      const usage = err.command ? await usageOf(err.command as Command) : USAGE;
      process.stderr.write(`egresslens: ${err.message}\n\n${usage}\n`);
    } else {
      process.stderr.write(`egresslens: ${describeError(err)}\n`);
    }
    process.exitCode = exitCodeOf(err);
  },
);
