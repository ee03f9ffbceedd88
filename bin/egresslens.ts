#!/usr/bin/env node
/** The egresslens command line. Each subcommand lives in bin/commands/. */
import { parseArgs } from 'node:util';
import { configFromFlags, SERVE_OPTIONS, STORE_OPTIONS } from './config-flags.js';
import { UsageError } from './usage-error.js';

const USAGE = `usage: egresslens <command> [options]

commands:
  serve     run ingest (Fluent Bit HTTP, Kafka) and the API; embedded store by default
  ingest    load access-log files or stdin into the store
  report    service-entries | blocked | timeouts | hosts, once (YAML, JSON or a table)
  parse     parse access-log lines to JSON records (stdout)

Run "egresslens <command> --help" for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'parse': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { format: { type: 'string', short: 'f' }, help: { type: 'boolean', short: 'h' } },
      });
      // Commands are loaded when run: `parse` must not pay for chDB's native library (hundreds of MB of RSS).
      const { parseUsage, runParse } = await import('./commands/parse.js');
      if (values.help) return help(parseUsage);
      if (positionals.length > 1) throw new UsageError('parse takes at most one FILE');
      return runParse({ format: values.format, file: positionals[0] });
    }
    case 'serve': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: SERVE_OPTIONS,
      });
      const { runServe, serveUsage } = await import('./commands/serve.js');
      if (values.help) return help(serveUsage);
      if (positionals.length) throw new UsageError(`serve takes no arguments (got ${positionals.join(' ')})`);
      return runServe(configFromFlags(values));
    }
    case 'ingest': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: STORE_OPTIONS,
      });
      const { ingestUsage, runIngest } = await import('./commands/ingest.js');
      if (values.help) return help(ingestUsage);
      return runIngest(configFromFlags(values), positionals);
    }
    case 'report': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          ...STORE_OPTIONS,
          since: { type: 'string' },
          until: { type: 'string' },
          namespace: { type: 'string', short: 'n' },
          registry: { type: 'string', multiple: true },
          'api-version': { type: 'string' },
          limit: { type: 'string' },
          offset: { type: 'string' },
          'cidr-prefix-v4': { type: 'string' },
          'cidr-prefix-v6': { type: 'string' },
          server: { type: 'string' },
          'auth-token': { type: 'string' },
        },
      });
      const { reportUsage, runReport } = await import('./commands/report.js');
      if (values.help) return help(reportUsage);
      if (positionals.length !== 1) throw new UsageError('report takes one report name');
      const { format, ...storeFlags } = values;
      return runReport(configFromFlags({ ...storeFlags, registry: values.registry }), {
        kind: positionals[0],
        since: values.since,
        until: values.until,
        namespace: values.namespace,
        format,
        apiVersion: values['api-version'],
        limit: values.limit,
        offset: values.offset,
        cidrPrefixV4: values['cidr-prefix-v4'],
        cidrPrefixV6: values['cidr-prefix-v6'],
        server: values.server,
        authToken: values['auth-token'],
      });
    }
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
  (err: unknown) => {
    if ((err as Error).name === 'ConfigError' || (err as Error).name === 'StoreConfigError') {
      process.stderr.write(`egresslens: ${(err as Error).message}\n`);
      process.exitCode = 2;
    } else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`egresslens: ${(err as Error).message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'EACCES') {
      process.stderr.write(
        `egresslens: cannot read ${(err as { path?: string }).path}: ${(err as Error).message}\n`,
      );
      process.exitCode = 1;
    } else {
      process.stderr.write(`egresslens: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
