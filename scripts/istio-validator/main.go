// istio-validator checks Istio resources (ServiceEntry, Sidecar, ...) the way Istio itself does, so that the
// tests can prove that what egresslens writes would be accepted by a cluster:
//
//  1. what `istioctl validate -f` runs: the resource's schema from
//     istio.io/istio/pkg/config/schema/collections, a strict parse of its spec, and the schema's ValidateConfig
//     (the same code as istiod's validating webhook);
//  2. with -crds FILE (Istio's crd-all.gen.yaml): the CRD's OpenAPI schema and CEL rules, as the Kubernetes API
//     server applies them before the webhook;
//  3. unless -analyze=false: the analyzers of `istioctl analyze --use-kube=false` over all inputs together.
//
// Input: multi-document YAML from the files named as arguments, or stdin. Output: one line per finding,
// `ERROR|WARN <Kind>/<namespace>/<name>: <message>` (analyzer findings carry their code, e.g. `[IST0134]`).
// Exit status: 1 when there is any error, or an analyzer message of level Error or one of the codes given in
// -fail-codes (default IST0133, IST0134); 2 when the input cannot be read; 0 otherwise.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/go-multierror"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/analysis/analyzers"
	"istio.io/istio/pkg/config/analysis/diag"
	"istio.io/istio/pkg/config/analysis/local"
	"istio.io/istio/pkg/config/crd"
	"istio.io/istio/pkg/config/resource"
	"istio.io/istio/pkg/config/schema/collections"
	sresource "istio.io/istio/pkg/config/schema/resource"
	"istio.io/istio/pkg/log"
)

// The fields istioctl validate allows at the top level of an object.
var validFields = map[string]bool{"apiVersion": true, "kind": true, "metadata": true, "spec": true, "status": true}

type finding struct {
	level string // ERROR or WARN
	text  string
}

func main() {
	crdFile := flag.String("crds", "", "Istio CRD file (crd-all.gen.yaml): also validate against the CRD schema and CEL rules")
	analyze := flag.Bool("analyze", true, "also run the analyzers of `istioctl analyze --use-kube=false`")
	failCodes := flag.String("fail-codes", "IST0133,IST0134", "analyzer codes that count as errors (comma-separated)")
	defaultNamespace := flag.String("namespace", metav1.NamespaceDefault, "namespace of objects that name none")
	flag.Parse()
	// Istio's packages log at init and during analysis; findings are printed on stdout, so keep them quiet.
	for _, s := range log.Scopes() {
		s.SetOutputLevel(log.NoneLevel)
	}

	input, err := readInput(flag.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "istio-validator: %v\n", err)
		os.Exit(2)
	}
	var crdValidator *crd.Validator
	if *crdFile != "" {
		crdValidator, err = crd.NewValidatorFromFiles(*crdFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "istio-validator: CRDs from %s: %v\n", *crdFile, err)
			os.Exit(2)
		}
	}

	findings, docs, normalized, err := validateDocuments(input, *defaultNamespace, crdValidator)
	if err != nil {
		fmt.Fprintf(os.Stderr, "istio-validator: %v\n", err)
		os.Exit(2)
	}
	if *analyze && docs > 0 {
		more, err := runAnalyzers(normalized, strings.Split(*failCodes, ","))
		if err != nil {
			fmt.Fprintf(os.Stderr, "istio-validator: analyze: %v\n", err)
			os.Exit(2)
		}
		findings = append(findings, more...)
	}
	failed := false
	for _, f := range findings {
		fmt.Printf("%s %s\n", f.level, oneLine(f.text))
		failed = failed || f.level == "ERROR"
	}
	fmt.Fprintf(os.Stderr, "istio-validator: %d document(s), %d finding(s)\n", docs, len(findings))
	if failed {
		os.Exit(1)
	}
}

func readInput(files []string) ([]byte, error) {
	if len(files) == 0 {
		return io.ReadAll(os.Stdin)
	}
	var all bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		all.WriteString("\n---\n")
		all.Write(data)
	}
	return all.Bytes(), nil
}

// validateDocuments runs istioctl validate's per-object checks (and the CRD schema when given) on every document.
// It also returns the decoded objects as YAML, each with a namespace, for the analyzers.
func validateDocuments(input []byte, defaultNamespace string, crdValidator *crd.Validator) ([]finding, int, []byte, error) {
	reader := kubeyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(input)))
	var findings []finding
	var normalized bytes.Buffer
	docs := 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return findings, docs, normalized.Bytes(), nil
		}
		if err != nil {
			return nil, docs, nil, err
		}
		out := map[string]any{}
		if err := yaml.UnmarshalStrict(doc, &out); err != nil {
			findings = append(findings, finding{"ERROR", fmt.Sprintf("document %d: cannot decode: %v", docs+1, err)})
			docs++
			continue
		}
		if len(out) == 0 {
			continue
		}
		docs++
		un := &unstructured.Unstructured{Object: out}
		prefix := fmt.Sprintf("%s/%s/%s:", un.GetKind(), un.GetNamespace(), un.GetName())
		warning, err := validateResource(un, defaultNamespace)
		for _, e := range flatten(err) {
			findings = append(findings, finding{"ERROR", prefix + " " + e})
		}
		for _, w := range flatten(warning) {
			findings = append(findings, finding{"WARN", prefix + " " + w})
		}
		if crdValidator != nil {
			// As the API server sees it: JSON numbers as int64 where integral (CEL rules compare ints).
			typed := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, typed); err != nil {
				findings = append(findings, finding{"ERROR", prefix + " CRD schema: cannot decode: " + err.Error()})
			} else if err := crdValidator.ValidateCustomResource(typed); err != nil {
				findings = append(findings, finding{"ERROR", prefix + " CRD schema: " + err.Error()})
			}
		}
		if un.GetNamespace() == "" {
			un.SetNamespace(defaultNamespace)
		}
		if data, err := yaml.Marshal(un.Object); err == nil {
			normalized.WriteString("---\n")
			normalized.Write(data)
		}
	}
}

// validateResource is istioctl validate's check of one Istio object.
func validateResource(un *unstructured.Unstructured, defaultNamespace string) (error, error) {
	gvk := un.GroupVersionKind()
	schema, exists := collections.Pilot.FindByGroupVersionAliasesKind(config.GroupVersionKind{
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
	})
	if !exists {
		return nil, fmt.Errorf("%s is not an Istio resource kind this validator knows", gvk.String())
	}
	obj, err := convertObjectFromUnstructured(schema, un)
	if err != nil {
		return nil, fmt.Errorf("cannot parse proto message: %v", err)
	}
	var unknown error
	for key := range un.Object {
		if !validFields[key] {
			unknown = multierror.Append(unknown, fmt.Errorf("unknown field %q", key))
		}
	}
	if unknown != nil {
		return nil, unknown
	}
	if obj.Namespace == "" {
		obj.Namespace = defaultNamespace
	}
	warning, err := schema.ValidateConfig(*obj)
	return warning, err
}

func convertObjectFromUnstructured(schema sresource.Schema, un *unstructured.Unstructured) (*config.Config, error) {
	data, err := json.Marshal(un.Object["spec"])
	if err != nil {
		return nil, err
	}
	spec, err := schema.NewInstance()
	if err != nil {
		return nil, err
	}
	if err := config.ApplyJSONStrict(spec, string(data)); err != nil {
		return nil, err
	}
	return &config.Config{
		Meta: config.Meta{
			GroupVersionKind:  schema.GroupVersionKind(),
			Name:              un.GetName(),
			Namespace:         un.GetNamespace(),
			Labels:            un.GetLabels(),
			Annotations:       un.GetAnnotations(),
			ResourceVersion:   un.GetResourceVersion(),
			CreationTimestamp: un.GetCreationTimestamp().Time,
		},
		Spec: spec,
	}, nil
}

// runAnalyzers is `istioctl analyze --use-kube=false --all-namespaces` over the input.
func runAnalyzers(input []byte, failCodes []string) ([]finding, error) {
	sa := local.NewIstiodAnalyzer(analyzers.AllCombined(), "", resource.Namespace("istio-system"), nil)
	if err := sa.AddDefaultResources(); err != nil {
		return nil, err
	}
	if err := sa.AddReaderKubeSource([]local.ReaderSource{{Name: "input", Reader: bytes.NewReader(input)}}); err != nil {
		return nil, err
	}
	cancel := make(chan struct{})
	result, err := sa.Analyze(cancel)
	if err != nil {
		return nil, err
	}
	fail := map[string]bool{}
	for _, c := range failCodes {
		if c = strings.TrimSpace(c); c != "" {
			fail[c] = true
		}
	}
	var findings []finding
	for i := range result.Messages {
		m := &result.Messages[i]
		level := "WARN"
		if m.Type.Level().IsWorseThanOrEqualTo(diag.Error) || fail[m.Type.Code()] {
			level = "ERROR"
		} else if !m.Type.Level().IsWorseThanOrEqualTo(diag.Warning) {
			continue // Info: e.g. a namespace without sidecar injection, nothing about the input itself
		}
		what := "(analysis)"
		if m.Resource != nil {
			what = fmt.Sprintf("%s/%s/%s:", m.Resource.Metadata.Schema.Kind(), m.Resource.Metadata.FullName.Namespace,
				m.Resource.Metadata.FullName.Name)
		}
		findings = append(findings, finding{level, fmt.Sprintf("%s [%s] %s", what, m.Type.Code(),
			fmt.Sprintf(m.Type.Template(), m.Parameters...))})
	}
	return findings, nil
}

// flatten turns a (multi)error into its messages, one per line of output.
func flatten(err error) []string {
	if err == nil {
		return nil
	}
	var merr *multierror.Error
	if errors.As(err, &merr) {
		var out []string
		for _, e := range merr.Errors {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
