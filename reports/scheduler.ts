/**
 * Scheduled reports (cron, via croner). Each run writes the registry-additions report (YAML) and a short
 * Markdown summary — new hosts since the last run, blocked, timeouts — to a folder and/or POSTs JSON to a
 * webhook, and records itself in report_runs. "New" means not suggested by any earlier run of the schedule.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { WorkLimiter } from '../api/work-limiter.js';
import type { Config } from '../schemas/config.js';
import type { Store } from '../store/store.js';
import { blockedReport } from './blocked/blocked-report.js';
import type { RegistryEntry } from './registry/registry.js';
import { serviceEntryReport } from './service-entries/service-entry-report.js';
import { toJson, toYaml } from './service-entries/service-entry-yaml.js';
import { MAX_LIMIT } from './shared/page.js';
import { parseWindow } from './shared/window.js';
import { timeoutReport } from './timeouts/timeout-report.js';

type Schedule = Config['schedules'][number];

export interface ScheduleDeps {
  store: Store;
  registry: () => Promise<RegistryEntry[] | null>;
  log?: Logger;
  fetch?: typeof fetch;
  /** The server's cap on analytic work: a run takes one slot for its queries, like a report request. */
  limiter?: Pick<WorkLimiter, 'run'>;
  /** The mesh's cluster DNS domain (config reports.clusterDomain; default cluster.local). */
  clusterDomain?: string;
}

/** A scheduled run has no client waiting on it, so it may queue longer than a request before giving up. */
const SCHEDULE_QUEUE_TIMEOUT_MS = 5 * 60_000;

export interface RunRecord {
  runTime: string;
  schedule: string;
  windowStart: string;
  windowEnd: string;
  suggestedHosts: string[];
  newHosts: string[];
  blocked: number;
  timeouts: number;
  outputs: string[];
  webhookStatus: string;
}

export function startSchedules(schedules: Schedule[], deps: ScheduleDeps): { stop(): void } {
  const jobs = schedules.map(
    (s) =>
      new Cron(
        s.cron,
        {
          name: s.name,
          protect: true,
          catch: (err) => deps.log?.error({ err, schedule: s.name }, 'scheduled report failed'),
        },
        async () => {
          const record = await runSchedule(s, deps);
          deps.log?.info(
            { schedule: s.name, newHosts: record.newHosts.length, outputs: record.outputs },
            'scheduled report written',
          );
        },
      ),
  );
  return {
    stop: () => {
      for (const j of jobs) j.stop();
    },
  };
}

export async function runSchedule(s: Schedule, deps: ScheduleDeps, now = Date.now()): Promise<RunRecord> {
  const window = parseWindow(s.window, undefined, now);
  const registry = await deps.registry();
  const apiVersion = 'networking.istio.io/v1' as const;
  const analyse = async () => {
    const [entries, blocked, timeouts] = await Promise.all([
      // The written YAML holds every suggestion (up to the largest page); the summaries only the busiest.
      serviceEntryReport(deps.store, window, {
        registry,
        apiVersion,
        limit: MAX_LIMIT,
        clusterDomain: deps.clusterDomain,
      }),
      blockedReport(deps.store, window, { limit: 100, clusterDomain: deps.clusterDomain }),
      timeoutReport(deps.store, window, { limit: 100 }),
    ]);
    const earlier = await deps.store.query<{ host: string }>(
      'SELECT DISTINCT arrayJoin(suggested_hosts) AS host FROM report_runs WHERE schedule = {schedule:String}',
      { params: { schedule: s.name } },
    );
    return { entries, blocked, timeouts, earlier };
  };
  const { entries, blocked, timeouts, earlier } = deps.limiter
    ? await deps.limiter.run(analyse, { timeoutMs: SCHEDULE_QUEUE_TIMEOUT_MS })
    : await analyse();
  const suggestedHosts = [...new Set(entries.suggestions.flatMap((x) => x.hosts))].sort();
  const seenBefore = new Set(earlier.map((r) => r.host));
  const newHosts = suggestedHosts.filter((h) => !seenBefore.has(h));
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  const outputs: string[] = [];
  const summary = markdownSummary(s, window, newHosts, suggestedHosts, blocked, timeouts);
  if (s.outputDir) {
    mkdirSync(s.outputDir, { recursive: true });
    const yamlPath = join(s.outputDir, `${s.name}-${stamp}.yaml`);
    const mdPath = join(s.outputDir, `${s.name}-${stamp}.md`);
    writeFileSync(yamlPath, toYaml(entries.suggestions, { apiVersion }));
    writeFileSync(mdPath, summary);
    outputs.push(yamlPath, mdPath);
  }
  let webhookStatus = '';
  if (s.webhook) {
    const payload = {
      schedule: s.name,
      window: entries.window,
      newHosts,
      serviceEntries: toJson(entries.suggestions),
      registry: entries.registry,
      blocked: {
        total: blocked.total,
        requests: blocked.requests,
        truncated: blocked.truncated,
        destinations: blocked.destinations,
      },
      timeouts: {
        total: timeouts.total,
        timeouts: timeouts.timeouts,
        truncated: timeouts.truncated,
        entries: timeouts.entries,
      },
      summary,
    };
    try {
      const res = await (deps.fetch ?? fetch)(s.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(15_000),
      });
      webhookStatus = String(res.status);
      if (!res.ok) deps.log?.warn({ schedule: s.name, status: res.status }, 'webhook refused the report');
    } catch (err) {
      webhookStatus = `error: ${(err as Error).message}`;
      deps.log?.warn({ err, schedule: s.name }, 'webhook unreachable');
    }
  }
  const record: RunRecord = {
    runTime: new Date(now).toISOString(),
    schedule: s.name,
    windowStart: new Date(window.sinceMs).toISOString(),
    windowEnd: new Date(window.untilMs).toISOString(),
    suggestedHosts,
    newHosts,
    blocked: blocked.requests,
    timeouts: timeouts.timeouts,
    outputs,
    webhookStatus,
  };
  await deps.store.insert({
    table: 'report_runs',
    format: 'JSONEachRow',
    body: Buffer.from(
      `${JSON.stringify({
        run_time: now,
        schedule: s.name,
        window_start: Math.floor(window.sinceMs),
        window_end: Math.ceil(window.untilMs),
        suggested_hosts: suggestedHosts,
        new_hosts: newHosts,
        blocked: blocked.requests,
        timeouts: timeouts.timeouts,
        outputs,
        webhook_status: webhookStatus,
      })}\n`,
    ),
  });
  return record;
}

function markdownSummary(
  s: Schedule,
  window: { sinceMs: number; untilMs: number },
  newHosts: string[],
  suggested: string[],
  blocked: Awaited<ReturnType<typeof blockedReport>>,
  timeouts: Awaited<ReturnType<typeof timeoutReport>>,
): string {
  const lines = [
    `# egresslens report: ${s.name}`,
    '',
    `Window: ${new Date(window.sinceMs).toISOString()} .. ${new Date(window.untilMs).toISOString()}`,
    '',
    `## New external hosts since the last run (${newHosts.length})`,
    ...(newHosts.length ? newHosts.map((h) => `- ${h}`) : ['- none']),
    '',
    `Hosts needing a ServiceEntry in this window: ${suggested.length}.`,
    '',
    `## Blocked by REGISTRY_ONLY: ${blocked.requests} requests/connections to ${blocked.total} destinations`,
    ...blocked.destinations
      .slice(0, 10)
      .map(
        (d) =>
          `- ${d.recovered ? `${d.host} (${d.recovered.host}?)` : d.host}:${d.port} ${d.kind}: ${d.count}`,
      ),
    '',
    `## Timeouts: ${timeouts.timeouts} in ${timeouts.total} host/route pairs`,
    ...timeouts.entries
      .slice(0, 10)
      .map(
        (e) =>
          `- ${e.host} (${e.route || '-'}): ${e.timeouts} (${(e.share * 100).toFixed(1)} %), timeout ~${e.inferredTimeoutMs ?? '?'} ms`,
      ),
    '',
  ];
  return lines.join('\n');
}
