/*
 * bpmn_bench.c — measures the BPMN model (src/bpmn/): import + validate of the largest
 * MIWG model and of a generated process of N flow nodes, export, and SVG render
 * (view + draw). Prints one line per measurement: name, median milliseconds of the
 * runs, and the size. Usage: bpmn_bench <miwg-dir> [nodes] [runs]
 */
#include "bpmn/bpmn.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(b);
        return NULL;
    }
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A chain of tasks with an exclusive split/join every 10 nodes and BPMNDI for each. */
static char *generate(int nodes, size_t *len)
{
    size_t cap = (size_t)nodes * 700 + 4096, n = 0;
    char *b = malloc(cap);
#define P(...) (n += (size_t)snprintf(b + n, cap - n, __VA_ARGS__))
    P("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bpmn:definitions xmlns:bpmn=\"%s\" xmlns:bpmndi=\"%s\" "
      "xmlns:dc=\"%s\" xmlns:di=\"%s\" xmlns:zeebe=\"%s\" id=\"D\" targetNamespace=\"x\">\n"
      "<bpmn:process id=\"big\" isExecutable=\"true\">\n", BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, ZEEBE_NS);
    P("<bpmn:startEvent id=\"n0\"/>\n");
    int flow = 0;
    for (int i = 1; i < nodes - 1; i++) {
        if (i % 10 == 5)
            P("<bpmn:exclusiveGateway id=\"n%d\" default=\"f%d\"/>\n", i, flow + 2);
        else
            P("<bpmn:serviceTask id=\"n%d\" name=\"Task %d\"><bpmn:extensionElements><zeebe:taskDefinition "
              "type=\"job-%d\"/></bpmn:extensionElements></bpmn:serviceTask>\n", i, i, i);
        P("<bpmn:sequenceFlow id=\"f%d\" sourceRef=\"n%d\" targetRef=\"n%d\"/>\n", ++flow, i - 1, i);
    }
    P("<bpmn:endEvent id=\"n%d\"/>\n", nodes - 1);
    P("<bpmn:sequenceFlow id=\"f%d\" sourceRef=\"n%d\" targetRef=\"n%d\"/>\n", ++flow, nodes - 2, nodes - 1);
    P("</bpmn:process>\n<bpmndi:BPMNDiagram id=\"Di\"><bpmndi:BPMNPlane id=\"Pl\" bpmnElement=\"big\">\n");
    for (int i = 0; i < nodes; i++)
        P("<bpmndi:BPMNShape id=\"s%d\" bpmnElement=\"n%d\"><dc:Bounds x=\"%d\" y=\"%d\" width=\"100\" height=\"80\"/>"
          "</bpmndi:BPMNShape>\n", i, i, (i % 50) * 150, (i / 50) * 120);
    for (int i = 1; i <= flow; i++)
        P("<bpmndi:BPMNEdge id=\"e%d\" bpmnElement=\"f%d\"><di:waypoint x=\"%d\" y=\"%d\"/><di:waypoint x=\"%d\" "
          "y=\"%d\"/></bpmndi:BPMNEdge>\n", i, i, ((i - 1) % 50) * 150 + 100, ((i - 1) / 50) * 120 + 40,
          (i % 50) * 150, (i / 50) * 120 + 40);
    P("</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n");
#undef P
    *len = n;
    return b;
}

typedef struct res { double import_validate, export, render; size_t svg_bytes; int errors; } res_t;

static res_t measure(const char *xml, size_t len, int runs, bool strip_di)
{
    double *t1 = calloc((size_t)runs, sizeof(double)), *t2 = calloc((size_t)runs, sizeof(double));
    double *t3 = calloc((size_t)runs, sizeof(double));
    res_t r = { 0, 0, 0, 0, 0 };
    for (int i = 0; i < runs; i++) {
        char err[300];
        double a = now_ms();
        bpmn_model_t *m = bpmn_parse(xml, len, err, sizeof(err));
        if (!m) {
            fprintf(stderr, "parse: %s\n", err);
            exit(1);
        }
        cJSON *p = cJSON_CreateArray();
        r.errors = bpmn_validate(m, p);
        cJSON_Delete(p);
        double b = now_ms();
        char *x = bpmn_export(m, NULL);
        double c = now_ms();
        if (strip_di) {     /* force the automatic layout */
            m->nshapes = 0;
            m->nedges = 0;
        }
        cJSON *v = bpmn_view(m, NULL, 0);
        char *svg = bpmn_svg(v);
        double d = now_ms();
        r.svg_bytes = strlen(svg);
        t1[i] = b - a, t2[i] = c - b, t3[i] = d - c;
        free(svg);
        cJSON_Delete(v);
        free(x);
        bpmn_free(m);
    }
    qsort(t1, (size_t)runs, sizeof(double), cmp);
    qsort(t2, (size_t)runs, sizeof(double), cmp);
    qsort(t3, (size_t)runs, sizeof(double), cmp);
    r.import_validate = t1[runs / 2], r.export = t2[runs / 2], r.render = t3[runs / 2];
    free(t1);
    free(t2);
    free(t3);
    return r;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/conformance/bpmn-miwg";
    int nodes = argc > 2 ? atoi(argv[2]) : 5000, runs = argc > 3 ? atoi(argv[3]) : 5;
    /* the largest MIWG model */
    char path[600], best[600] = "";
    long best_size = 0;
    char sub[320];
    snprintf(sub, sizeof(sub), "%s/reference", dir);
    DIR *d = opendir(sub);
    if (!d) {
        fprintf(stderr, "no MIWG suite at %s\n", dir);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
        if (strstr(e->d_name, ".bpmn") && !stat(path, &st) && st.st_size > best_size) {
            best_size = st.st_size;
            snprintf(best, sizeof(best), "%s", path);
        }
    }
    closedir(d);
    size_t len = 0;
    char *xml = slurp(best, &len);
    if (!xml) {
        fprintf(stderr, "cannot read %s\n", best);
        return 1;
    }
    res_t r = measure(xml, len, runs, false);
    printf("%-34s %8.2f ms  (%zu bytes, %s)\n", "miwg-largest import+validate", r.import_validate, len, best);
    printf("%-34s %8.2f ms\n", "miwg-largest export", r.export);
    printf("%-34s %8.2f ms  (%zu bytes of SVG)\n", "miwg-largest svg render", r.render, r.svg_bytes);
    free(xml);
    xml = generate(nodes, &len);
    r = measure(xml, len, runs, false);
    printf("%-34s %8.2f ms  (%d nodes, %zu bytes, %d errors)\n", "generated import+validate", r.import_validate,
           nodes, len, r.errors);
    printf("%-34s %8.2f ms\n", "generated export", r.export);
    printf("%-34s %8.2f ms  (%zu bytes of SVG)\n", "generated svg render (DI)", r.render, r.svg_bytes);
    r = measure(xml, len, runs > 3 ? 3 : runs, true);
    printf("%-34s %8.2f ms  (%zu bytes of SVG)\n", "generated svg render (auto layout)", r.render, r.svg_bytes);
    free(xml);
    return 0;
}
