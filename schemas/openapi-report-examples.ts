/** The report routes' OpenAPI summaries and examples: documentation only, /docs/json shows them. */

const PAGE_EXAMPLE = { total: 1, truncated: false, limit: 1000, offset: 0 };

const WINDOW_EXAMPLE = { since: '2026-11-29T00:00:00.000Z', until: '2026-11-30T00:00:00.000Z' };

export const SERVICE_ENTRIES_YAML_EXAMPLE = `# egresslens: ServiceEntries to add before REGISTRY_ONLY, from PassthroughCluster traffic ...
# 1 suggestion(s)
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: api-stripe-com
spec:
  hosts:
    - api.stripe.com
  ports:
    - number: 443
      name: tls-443
      protocol: TLS
  location: MESH_EXTERNAL
  resolution: DNS
`;

export const SERVICE_ENTRIES_JSON_EXAMPLE = {
  window: WINDOW_EXAMPLE,
  ...PAGE_EXAMPLE,
  suggestions: [
    {
      name: 'api-stripe-com',
      hosts: ['api.stripe.com'],
      ports: [{ number: 443, name: 'tls-443', protocol: 'TLS' }],
      resolution: 'DNS',
      requests: 1204,
      yaml: 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n...',
    },
  ],
  registry: null,
  unresolvedIps: [],
  flagged: [],
  cidrGroups: { entries: 0, ips: 0, prefix: { v4: 24, v6: 64 } },
};

export const REPORT_TABLE_DOCS = {
  blocked: {
    summary: 'Requests REGISTRY_ONLY denied',
    more: 'Each destination comes with the sources that tried it and the ServiceEntry that would admit it.',
    list: 'destinations',
    item: 'one blocked host:port each, with its sources and a ServiceEntry that would admit it',
    jsonExample: {
      window: WINDOW_EXAMPLE,
      ...PAGE_EXAMPLE,
      destinations: [
        {
          host: 'api.github.com',
          port: 443,
          kind: 'tcp',
          count: 42,
          sources: [{ namespace: 'ci', workload: 'runner', count: 42 }],
        },
      ],
      unresolvedIps: [],
    },
    tableExample: 'DESTINATION          REQUESTS  SOURCES\napi.github.com:443   42        ci/runner\n',
  },
  timeouts: {
    summary: 'Requests that timed out',
    more: 'With latency percentiles of timed-out and successful requests and the inferred timeout.',
    list: 'entries',
    item: 'one host and route each, with timed-out and successful latency percentiles',
    jsonExample: {
      window: WINDOW_EXAMPLE,
      ...PAGE_EXAMPLE,
      entries: [
        {
          host: 'slow.example.com',
          route: 'default',
          requests: 100,
          timeouts: 12,
          share: 0.12,
          flags: ['UT'],
          inferredTimeoutMs: 15000,
        },
      ],
    },
    tableExample:
      'HOST               ROUTE    TIMEOUTS  SHARE  INFERRED\nslow.example.com   default  12        12%    15s\n',
  },
  hosts: {
    summary: 'External destinations and their state',
    more: 'Allowed by a ServiceEntry, passing through (PassthroughCluster) or blocked, with request counts.',
    list: 'hosts',
    item: 'one external host:port each with its state and request count',
    jsonExample: {
      window: WINDOW_EXAMPLE,
      ...PAGE_EXAMPLE,
      hosts: [{ host: 'api.stripe.com', port: 443, state: 'passthrough', requests: 1204 }],
    },
    tableExample: 'HOST             PORT  STATE        REQUESTS\napi.stripe.com   443   passthrough  1204\n',
  },
} as const;

export const READINESS_DOCS = {
  item: 'one source namespace each: its share admitted, what would be blocked and why, and its Sidecar',
  jsonExample: {
    window: WINDOW_EXAMPLE,
    ...PAGE_EXAMPLE,
    namespaces: [
      {
        namespace: 'payments',
        requests: 1300,
        admittedByRegistry: 96,
        admittedWithSuggestions: 1300,
        wouldBlock: 0,
        notExamined: 0,
        share: 1,
        destinationsToBlock: { items: [], total: 0, truncated: false },
        sidecarYaml: 'apiVersion: networking.istio.io/v1\nkind: Sidecar\n...',
      },
    ],
    destinationsTruncated: false,
  },
  yamlExample: `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: payments
spec:
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
`,
  tableExample: 'NAMESPACE  REQUESTS  READY  WOULD BLOCK\npayments   1300      100%   0\n',
};
