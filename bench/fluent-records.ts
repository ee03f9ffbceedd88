/** Records as Fluent Bit's kafka output writes them (`format json`), for the Kafka benchmark and tests. */

/** The `kubernetes` map Fluent Bit's kubernetes filter adds for an Istio sidecar. */
export const KUBERNETES = {
  pod_name: 'checkout-7f9c8d6b5-x2k4p',
  namespace_name: 'shop',
  pod_id: '6f1c1a36-1111-4b7e-9c1e-2a3b4c5d6e7f',
  labels: { app: 'checkout', 'pod-template-hash': '7f9c8d6b5', 'security.istio.io/tlsMode': 'istio' },
  host: 'node-1',
  container_name: 'istio-proxy',
  docker_id: '3e2b1f0a9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f',
  container_image: 'docker.io/istio/proxyv2:1.24.2',
};

/** `@timestamp` first, the line in `log` (with its newline), the kubernetes map. */
export function fluentKafkaRecord(line: string, timestamp: number): Record<string, unknown> {
  return {
    '@timestamp': timestamp,
    log: `${line}\n`,
    stream: 'stdout',
    time: '2025-11-24T16:00:00.000000000Z',
    kubernetes: KUBERNETES,
  };
}
