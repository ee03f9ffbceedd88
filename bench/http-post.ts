/**
 * POSTs a prepared body over a keep-alive connection with node:http, for benchmarks whose client shares the
 * machine with the server it measures: fetch (undici) spends more CPU per body, which a shipper written in C,
 * like Fluent Bit, does not, and every CPU second of the client is taken from the server under test
 * (bench:ingest prints the client's share).
 */
import http from 'node:http';

export interface PostResult {
  status: number;
}

/** One request; resolves once the whole answer has been read. */
export function postBody(
  agent: http.Agent,
  url: URL,
  headers: Record<string, string>,
  body: Buffer,
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
