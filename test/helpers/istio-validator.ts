/**
 * Istio's own validation for the tests: scripts/istio-validator.sh builds (once, cached under
 * .cache/istio-validator/) a Go program that runs what `istioctl validate -f` runs, the CRD schema and CEL rules
 * the API server applies, and the analyzers of `istioctl analyze --use-kube=false`; it fails on any error and on
 * IST0133/IST0134. The report tests record every ServiceEntry YAML they produce with `recordIstioYaml` and end
 * with `expectIstioAccepts`, which runs all of it through that program in one call.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { toYaml, type YamlOptions } from '../../reports/service-entries/service-entry-yaml.js';
import type { Suggestion } from '../../reports/service-entries/suggestion.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'istio-validator.sh');

/** Long enough for a first build from an empty Go module cache (~7 min on 2 cores). */
export const ISTIO_BUILD_TIMEOUT_MS = 20 * 60_000;

let binary: Promise<{ bin: string; crds: string }> | undefined;

/**
 * The validator's binary and CRD file, building them if missing (asynchronously: a first build takes minutes,
 * and a blocked worker would stop reporting to vitest).
 */
export function istioValidator(): Promise<{ bin: string; crds: string }> {
  binary ??= new Promise((resolve, reject) => {
    execFile(
      'bash',
      [SCRIPT, 'build'],
      { encoding: 'utf8', timeout: ISTIO_BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          binary = undefined;
          reject(new Error(`scripts/istio-validator.sh build failed: ${stderr || err.message}`));
          return;
        }
        const bin = stdout.trim().split('\n').pop()!;
        resolve({ bin, crds: join(dirname(bin), 'crd-all.gen.yaml') });
      },
    );
  });
  return binary;
}

export interface IstioVerdict {
  /** Exit status 0: no error (and no IST0133/IST0134). */
  ok: boolean;
  /** `ERROR <Kind>/<ns>/<name>: …` lines. */
  errors: string[];
  /** `WARN …` lines. */
  warnings: string[];
  output: string;
}

/** Runs multi-document YAML through Istio's validation. */
export async function validateWithIstio(yaml: string): Promise<IstioVerdict> {
  const { bin, crds } = await istioValidator();
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = execFile(
        bin,
        ['-crds', crds],
        {
          maxBuffer: 64 * 1024 * 1024,
          timeout: 120_000,
          // Istio's test-env package warns at start-up when these name no folder; they are not used here.
          env: { ...process.env, TARGET_OUT: dirname(bin), LOCAL_OUT: dirname(bin) },
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          if (err && code !== 1)
            reject(new Error(`istio-validator failed (${code}): ${stderr || err.message}`));
          else resolve({ code, stdout, stderr });
        },
      );
      child.stdin!.end(yaml);
    },
  );
  const lines = stdout.split('\n').filter((l) => l !== '');
  return {
    ok: code === 0,
    errors: lines.filter((l) => l.startsWith('ERROR ')),
    warnings: lines.filter((l) => l.startsWith('WARN ')),
    output: `${stdout}${stderr}`,
  };
}

const recorded: { label: string; yaml: string }[] = [];

/** Keeps `yaml` (one or more ServiceEntry documents) for `expectIstioAccepts`; returns it unchanged. */
export function recordIstioYaml(label: string, yaml: string): string {
  if (yaml.trim() !== '') recorded.push({ label, yaml });
  return yaml;
}

/** Records the YAML of `suggestions` (as `toYaml` writes it) for `expectIstioAccepts`; returns them unchanged. */
export function recordSuggestions<T extends readonly Suggestion[]>(
  label: string,
  suggestions: T,
  opts?: YamlOptions,
): T {
  recordIstioYaml(label, toYaml(suggestions, opts));
  return suggestions;
}

/** The number of YAML streams recorded in this test file so far. */
export function recordedIstioYamlCount(): number {
  return recorded.length;
}

/**
 * Runs every recorded YAML through Istio at once (names are made unique per stream, so that entries from
 * different tests do not count as duplicates) and expects no error. Returns the verdict.
 */
export async function expectIstioAccepts(): Promise<IstioVerdict> {
  const streams = recorded.map((r, i) => ({ ...r, yaml: uniqueNames(r.yaml, i) }));
  const verdict = await validateWithIstio(streams.map((s) => s.yaml).join('\n---\n'));
  const labels = streams.map((s, i) => `#${i}: ${s.label}`).join('\n');
  expect(
    verdict.errors,
    `Istio rejected some YAML (${recorded.length} streams):\n${labels}\n${verdict.output}`,
  ).toEqual([]);
  expect(verdict.ok, verdict.output).toBe(true);
  const summary = verdict.output.split('\n').find((l) => l.startsWith('istio-validator: '));
  process.stderr.write(
    `${summary ?? 'istio-validator: no summary'} from ${recorded.length} YAML stream(s)\n` +
      verdict.warnings.map((w) => `  ${w}\n`).join(''),
  );
  return verdict;
}

/**
 * Each object without a namespace gets `t<index>`, so that streams from different tests (each one report, applied
 * together) do not collide; nothing else changes (yaml's Document API keeps comments and quoting).
 */
function uniqueNames(yaml: string, index: number): string {
  return parseAllDocuments(yaml)
    .map((doc) => {
      if (doc.contents && !doc.hasIn(['metadata', 'namespace']))
        doc.setIn(['metadata', 'namespace'], `t${index}`);
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}
