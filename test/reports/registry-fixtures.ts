/** Registry files as `kubectl` writes them, for loadRegistry tests (written into a temp dir). */

/** `kubectl get serviceentries -A -o yaml`: a List with status, managedFields and last-applied noise. */
export const KUBECTL_LIST = `apiVersion: v1
items:
- apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"networking.istio.io/v1","kind":"ServiceEntry","metadata":{"annotations":{},"name":"google","namespace":"default"},"spec":{"hosts":["www.google.com"],"location":"MESH_EXTERNAL","ports":[{"name":"https","number":443,"protocol":"HTTPS"}],"resolution":"DNS"}}
    creationTimestamp: "2026-01-05T09:12:44Z"
    generation: 1
    managedFields:
    - apiVersion: networking.istio.io/v1
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata:
          f:annotations:
            .: {}
            f:kubectl.kubernetes.io/last-applied-configuration: {}
        f:spec:
          .: {}
          f:hosts: {}
          f:location: {}
          f:ports: {}
          f:resolution: {}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2026-01-05T09:12:44Z"
    name: google
    namespace: default
    resourceVersion: "48211"
    uid: 6c1f8f4e-3b7a-4d61-9a53-0f1d7f0c2a11
  spec:
    hosts:
    - www.google.com
    location: MESH_EXTERNAL
    ports:
    - name: https
      number: 443
      protocol: HTTPS
    resolution: DNS
  status:
    conditions:
    - lastTransitionTime: "2026-01-05T09:12:45Z"
      message: 'Reconciled'
      reason: Reconciled
      status: "True"
      type: Reconciled
    validationMessages:
    - documentationUrl: https://istio.io/v1.24/docs/reference/config/analysis/ist0134/
      level: WARNING
      type:
        code: IST0134
- apiVersion: networking.istio.io/v1beta1
  kind: ServiceEntry
  metadata:
    creationTimestamp: "2026-01-06T11:00:00Z"
    generation: 3
    name: payments-api
    namespace: payments
    resourceVersion: "51002"
    uid: 0a2b3c4d-0000-4000-8000-000000000001
  spec:
    exportTo:
    - .
    hosts:
    - api.stripe.com
    location: MESH_EXTERNAL
    ports:
    - name: https
      number: 443
      protocol: HTTPS
    resolution: DNS
- apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata:
    name: legacy-ftp
    namespace: ops
  spec:
    hosts:
    - ftp.legacy.example
    ports:
    - name: tcp-21
      number: 21
    resolution: DNS
kind: List
metadata:
  resourceVersion: ""
`;

/** A hand-written multi-document file mixing kinds, an empty document and a wildcard entry. */
export const MULTI_DOC = `# egress for the shop
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: example-wildcard
  namespace: shop
spec:
  hosts: ["*.example.com"]
  ports:
  - {number: 443, name: https, protocol: HTTPS}
  resolution: NONE
---
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin-ext
spec:
  hosts: [httpbin.org]
  http:
  - timeout: 3s
    route:
    - destination: {host: httpbin.org}
---
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: httpbin-ext
spec:
  hosts:
  - HTTPBin.org.
  ports:
  - number: 80
    name: http
    protocol: HTTP
  resolution: DNS
  location: MESH_EXTERNAL
`;

/** \`kubectl get serviceentries -A -o json\` shape: a ServiceEntryList-like JSON list. */
export const JSON_LIST = JSON.stringify(
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntryList',
    items: [
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'db', namespace: 'data' },
        spec: {
          hosts: ['db.partner.net'],
          addresses: ['192.0.2.0/24'],
          ports: [{ number: 5432, name: 'tcp-postgres', protocol: 'TCP' }],
          exportTo: ['data', 'shop'],
          resolution: 'DNS',
          location: 'MESH_EXTERNAL',
        },
      },
    ],
  },
  null,
  2,
);
