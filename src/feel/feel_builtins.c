/*
 * feel_builtins.c — FEEL built-ins other than strings: conversions (string, number,
 * date, time, date and time, duration, years and months duration), booleans (not),
 * numbers (decimal, floor, ceiling, round *, abs, modulo, sqrt, log, exp, odd, even),
 * lists (count ... sort) and contexts (get value, get entries, context put/merge).
 * feel_builtin_find() looks a name up in both tables.
 */
#include "feel_builtins.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

uint32_t feel_builtin_regex_limit(const feel_eval_t *ev)
{
    return ev->lim.regex_match_limit;
}

#define NUM(i) (a[i]->t == FEEL_NUM)

/* ---- conversions ---- */
static feel_value_t *f_string(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t == FEEL_NULL)
        return feel_null();
    return feel_cstr(ev, feel_to_string(ev, a[0]));
}

static feel_value_t *f_number(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_STR)
        return feel_err(ev, "number(from, grouping separator?, decimal separator?)");
    const char *g = n > 1 && a[1]->t == FEEL_STR ? a[1]->u.str.s : NULL;
    const char *d = n > 2 && a[2]->t == FEEL_STR ? a[2]->u.str.s : NULL;
    if ((g && strcmp(g, " ") && strcmp(g, ",") && strcmp(g, ".")) || (d && strcmp(d, ",") && strcmp(d, ".")))
        return feel_null();
    if (g && d && !strcmp(g, d))
        return feel_null();
    char *buf = feel_alloc(ev, a[0]->u.str.len + 1);    /* no cut: "1…(200 digits)" stays itself */
    if (!buf)
        return feel_null();
    size_t o = 0;
    for (size_t i = 0; i < a[0]->u.str.len; i++) {
        char c = a[0]->u.str.s[i];
        if (g && c == g[0])
            continue;
        if (d && c == d[0])
            c = '.';
        buf[o++] = c;
    }
    buf[o] = 0;
    return feel_num_parse(ev, buf);
}

static bool int_arg(const feel_value_t *v, int64_t *out)
{
    return v->t == FEEL_NUM && feel_dec_to_int64(v->u.n, out);
}

static feel_value_t *f_date(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (n == 1) {
        if (a[0]->t == FEEL_STR)
            return feel_parse_date(ev, a[0]->u.str.s);
        if (a[0]->t == FEEL_DATE)
            return a[0];
        if (a[0]->t == FEEL_DT) {
            feel_value_t *v = feel_alloc_value(ev, FEEL_DATE);
            if (!v)
                return feel_null();
            v->u.tm.days = a[0]->u.tm.days;
            return v;
        }
        return feel_err(ev, "date(from) needs a string or a date and time");
    }
    int64_t y, m, d;
    if (n != 3 || !int_arg(a[0], &y) || !int_arg(a[1], &m) || !int_arg(a[2], &d))
        return feel_err(ev, "date(year, month, day) needs integers");
    /* range first: (unsigned) of 2^32 + 1 would be a valid month */
    if (m < 1 || m > 12 || d < 1 || d > 31 || !feel_valid_date(y, (unsigned)m, (unsigned)d))
        return feel_err(ev, "date(%lld, %lld, %lld) is not a date", (long long)y, (long long)m, (long long)d);
    feel_value_t *v = feel_alloc_value(ev, FEEL_DATE);
    if (!v)
        return feel_null();
    v->u.tm.days = feel_days_from_civil(y, (unsigned)m, (unsigned)d);
    return v;
}

static feel_value_t *f_time(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (n == 1) {
        if (a[0]->t == FEEL_STR)
            return feel_parse_time(ev, a[0]->u.str.s);
        if (a[0]->t == FEEL_TIME)
            return a[0];
        if (a[0]->t == FEEL_DT || a[0]->t == FEEL_DATE) {
            feel_value_t *v = feel_alloc_value(ev, FEEL_TIME);
            if (!v)
                return feel_null();
            *v = *a[0];
            v->t = FEEL_TIME;
            v->u.tm.days = 0;
            if (a[0]->t == FEEL_DATE) {
                v->u.tm.nanos = 0;
                v->u.tm.has_tz = true;
            }
            return v;
        }
        return feel_err(ev, "time(from) needs a string or a date and time");
    }
    int64_t h, m;
    if (n < 3 || !int_arg(a[0], &h) || !int_arg(a[1], &m) || a[2]->t != FEEL_NUM)
        return feel_err(ev, "time(hour, minute, second, offset?)");
    feel_dec_t ns;
    feel_dec_mul(a[2]->u.n, feel_dec_from_int(1000000000), &ns);
    int64_t sn;
    if (h < 0 || h > 23 || m < 0 || m > 59 || !feel_dec_to_int64(feel_dec_round(ns, 0, 'f'), &sn) || sn < 0 ||
        sn >= 60000000000LL)
        return feel_err(ev, "time(): out of range");
    feel_value_t *v = feel_alloc_value(ev, FEEL_TIME);
    if (!v)
        return feel_null();
    v->u.tm.nanos = (h * 3600 + m * 60) * 1000000000LL + sn;
    if (n > 3 && a[3]->t == FEEL_DTD) {
        int64_t off;
        if (!feel_dec_to_int64(feel_dec_round(a[3]->u.n, 0, 'f'), &off) || off < -18 * 3600 || off > 18 * 3600)
            return feel_err(ev, "time(): offset beyond +/-18 hours");
        v->u.tm.has_tz = true;
        v->u.tm.offset = (int32_t)off;
    } else if (n > 3 && a[3]->t != FEEL_NULL) {
        return feel_err(ev, "time(): offset must be a duration");
    }
    return v;
}

static feel_value_t *f_dt(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (n == 1) {
        if (a[0]->t != FEEL_STR)
            return feel_err(ev, "date and time(from) needs a string");
        return feel_parse_dt(ev, a[0]->u.str.s);
    }
    if ((a[0]->t != FEEL_DATE && a[0]->t != FEEL_DT) || a[1]->t != FEEL_TIME)
        return feel_err(ev, "date and time(date, time)");
    feel_value_t *v = feel_alloc_value(ev, FEEL_DT);
    if (!v)
        return feel_null();
    *v = *a[1];
    v->t = FEEL_DT;
    v->u.tm.days = a[0]->u.tm.days;
    return v;
}

static feel_value_t *f_duration(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_STR)
        return feel_err(ev, "duration(from) needs a string");
    feel_value_t *v = feel_parse_duration(ev, a[0]->u.str.s);
    if (v->t == FEEL_NULL)
        return feel_err(ev, "duration(\"%.40s\") is not a duration", a[0]->u.str.s);
    return v;
}

static feel_value_t *f_ymd(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    const feel_value_t *x = a[0], *y = a[1];
    if ((x->t != FEEL_DATE && x->t != FEEL_DT) || (y->t != FEEL_DATE && y->t != FEEL_DT))
        return feel_err(ev, "years and months duration(from, to) needs dates");
    int64_t y1, y2;
    unsigned m1, m2, d1, d2;
    feel_civil_from_days(x->u.tm.days, &y1, &m1, &d1);
    feel_civil_from_days(y->u.tm.days, &y2, &m2, &d2);
    int64_t months = (y2 * 12 + m2) - (y1 * 12 + m1);
    int64_t t1 = x->t == FEEL_DT ? x->u.tm.nanos : 0, t2 = y->t == FEEL_DT ? y->u.tm.nanos : 0;
    if (months > 0 && (d2 < d1 || (d2 == d1 && t2 < t1)))
        months--;
    else if (months < 0 && (d2 > d1 || (d2 == d1 && t2 > t1)))
        months++;
    feel_value_t *v = feel_alloc_value(ev, FEEL_YMD);
    if (!v)
        return feel_null();
    v->u.months = months;
    return v;
}

static feel_value_t *f_not(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    return a[0]->t == FEEL_BOOL ? feel_bool(!a[0]->u.b) : feel_null();
}

/* ---- numbers ---- */
static feel_value_t *round_to(feel_eval_t *ev, feel_value_t **a, size_t n, char mode, const char *name)
{
    int64_t scale = 0;
    if (!NUM(0) || (n > 1 && !int_arg(a[1], &scale)))
        return feel_err(ev, "%s(n, scale)", name);
    if (scale < -6111 || scale > 6176)
        return feel_null();
    return feel_num(ev, feel_dec_round(a[0]->u.n, (int32_t)scale, mode));
}

static feel_value_t *f_decimal(feel_eval_t *ev, feel_value_t **a, size_t n) { return round_to(ev, a, n, 'e', "decimal"); }
static feel_value_t *f_floor(feel_eval_t *ev, feel_value_t **a, size_t n) { return round_to(ev, a, n, 'f', "floor"); }
static feel_value_t *f_ceiling(feel_eval_t *ev, feel_value_t **a, size_t n) { return round_to(ev, a, n, 'c', "ceiling"); }
static feel_value_t *f_round_up(feel_eval_t *ev, feel_value_t **a, size_t n) { return round_to(ev, a, n, 'u', "round up"); }
static feel_value_t *f_round_down(feel_eval_t *ev, feel_value_t **a, size_t n) { return round_to(ev, a, n, 'd', "round down"); }
static feel_value_t *f_round_half_up(feel_eval_t *ev, feel_value_t **a, size_t n) { return round_to(ev, a, n, 'U', "round half up"); }
static feel_value_t *f_round_half_down(feel_eval_t *ev, feel_value_t **a, size_t n) { return round_to(ev, a, n, 'D', "round half down"); }

static feel_value_t *f_abs(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t == FEEL_NUM || a[0]->t == FEEL_DTD) {
        feel_value_t *v = feel_alloc_value(ev, a[0]->t);
        if (!v)
            return feel_null();
        v->u.n = a[0]->u.n;
        if (v->u.n.c < 0)
            v->u.n.c = -v->u.n.c;
        return v;
    }
    if (a[0]->t == FEEL_YMD) {
        feel_value_t *v = feel_alloc_value(ev, FEEL_YMD);
        if (!v)
            return feel_null();
        v->u.months = a[0]->u.months < 0 ? -a[0]->u.months : a[0]->u.months;
        return v;
    }
    return feel_err(ev, "abs(n) needs a number");
}

static feel_value_t *f_modulo(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!NUM(0) || !NUM(1))
        return feel_err(ev, "modulo(dividend, divisor)");
    if (a[1]->u.n.c == 0)
        return feel_err(ev, "modulo by zero");
    feel_dec_t q, fl, p, r;
    feel_dec_div(a[0]->u.n, a[1]->u.n, &q);
    fl = feel_dec_round(q, 0, 'f');
    feel_dec_mul(fl, a[1]->u.n, &p);
    feel_dec_sub(a[0]->u.n, p, &r);
    return feel_num(ev, r);
}

static feel_value_t *via_double(feel_eval_t *ev, feel_value_t **a, double (*fn)(double), const char *name,
                                bool positive)
{
    if (!NUM(0))
        return feel_err(ev, "%s(number)", name);
    double x = feel_dec_to_double(a[0]->u.n);
    if (positive && x < 0)
        return feel_err(ev, "%s of a negative number", name);
    if (positive && x == 0 && fn == log)
        return feel_err(ev, "log(0)");
    return feel_num_double(ev, fn(x));
}

static feel_value_t *f_sqrt(feel_eval_t *ev, feel_value_t **a, size_t n) { return via_double(ev, a, sqrt, "sqrt", true); }
static feel_value_t *f_log(feel_eval_t *ev, feel_value_t **a, size_t n) { return via_double(ev, a, log, "log", true); }
static feel_value_t *f_exp(feel_eval_t *ev, feel_value_t **a, size_t n) { return via_double(ev, a, exp, "exp", false); }

static feel_value_t *parity(feel_eval_t *ev, feel_value_t **a, bool odd)
{
    int64_t i;
    if (!NUM(0))
        return feel_err(ev, "%s(number)", odd ? "odd" : "even");
    if (!feel_dec_to_int64(a[0]->u.n, &i))
        return feel_bool(false);
    return feel_bool(((i % 2) != 0) == odd);
}
static feel_value_t *f_odd(feel_eval_t *ev, feel_value_t **a, size_t n) { return parity(ev, a, true); }
static feel_value_t *f_even(feel_eval_t *ev, feel_value_t **a, size_t n) { return parity(ev, a, false); }

/* ---- lists ---- */
/* Varargs functions take a single list or the arguments themselves. */
static const feel_value_t *items_of(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (n == 1 && a[0]->t == FEEL_LIST)
        return a[0];
    if (n == 1 && a[0]->t == FEEL_NULL)
        return NULL;
    return feel_list_from(ev, a, n);
}

static feel_value_t *f_count(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST)
        return feel_err(ev, "count(list)");
    return feel_num_int(ev, (int64_t)a[0]->u.list.n);
}

static feel_value_t *minmax(feel_eval_t *ev, feel_value_t **a, size_t n, int sign)
{
    const feel_value_t *l = items_of(ev, a, n);
    if (!l || l->u.list.n == 0)
        return feel_null();
    feel_value_t *best = l->u.list.items[0];
    for (size_t i = 1; i < l->u.list.n; i++) {
        int c = feel_compare(l->u.list.items[i], best);
        if (c == FEEL_INCOMPARABLE)
            return feel_err(ev, "min/max: items are not comparable");
        if (c * sign > 0)
            best = l->u.list.items[i];
    }
    if (l->u.list.n == 1 && feel_compare(best, best) == FEEL_INCOMPARABLE)
        return feel_err(ev, "min/max: item is not comparable");
    return best;
}
static feel_value_t *f_min(feel_eval_t *ev, feel_value_t **a, size_t n) { return minmax(ev, a, n, -1); }
static feel_value_t *f_max(feel_eval_t *ev, feel_value_t **a, size_t n) { return minmax(ev, a, n, 1); }

static bool all_nums(const feel_value_t *l)
{
    for (size_t i = 0; i < l->u.list.n; i++)
        if (l->u.list.items[i]->t != FEEL_NUM)
            return false;
    return true;
}

static feel_value_t *f_sum(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    const feel_value_t *l = items_of(ev, a, n);
    if (!l || !all_nums(l))
        return feel_err(ev, "sum(list of numbers)");
    if (l->u.list.n == 0)
        return feel_null();
    feel_dec_t s = feel_dec_from_int(0);
    for (size_t i = 0; i < l->u.list.n; i++)
        feel_dec_add(s, l->u.list.items[i]->u.n, &s);
    return feel_num(ev, s);
}

static feel_value_t *f_product(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    const feel_value_t *l = items_of(ev, a, n);
    if (!l || !all_nums(l))
        return feel_err(ev, "product(list of numbers)");
    if (l->u.list.n == 0)
        return feel_null();
    feel_dec_t s = feel_dec_from_int(1);
    for (size_t i = 0; i < l->u.list.n; i++)
        feel_dec_mul(s, l->u.list.items[i]->u.n, &s);
    return feel_num(ev, s);
}

static feel_value_t *f_mean(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    const feel_value_t *l = items_of(ev, a, n);
    if (!l || !all_nums(l))
        return feel_err(ev, "mean(list of numbers)");
    if (l->u.list.n == 0)
        return feel_null();
    feel_dec_t s = feel_dec_from_int(0);
    for (size_t i = 0; i < l->u.list.n; i++)
        feel_dec_add(s, l->u.list.items[i]->u.n, &s);
    feel_dec_div(s, feel_dec_from_int((int64_t)l->u.list.n), &s);
    return feel_num(ev, s);
}

static int cmp_sort(const void *x, const void *y)
{
    int c = feel_compare(*(feel_value_t *const *)x, *(feel_value_t *const *)y);
    return c == FEEL_INCOMPARABLE ? 0 : c;
}

/* n·⌈log2 n⌉: the comparisons of a sort, charged to the step budget */
static bool charge_sort(feel_eval_t *ev, size_t n)
{
    uint64_t lg = 1;
    while (lg < 64 && ((size_t)1 << lg) < n)
        lg++;
    return feel_charge(ev, (uint64_t)n * lg);
}

static feel_value_t *sorted_nums(feel_eval_t *ev, feel_value_t **a, size_t n, const char *name)
{
    const feel_value_t *l = items_of(ev, a, n);
    if (!l || !all_nums(l))
        return feel_err(ev, "%s(list of numbers)", name);
    if (!charge_sort(ev, l->u.list.n))
        return feel_null();
    feel_value_t *c = feel_list_from(ev, l->u.list.items, l->u.list.n);
    if (c->t == FEEL_LIST)
        qsort(c->u.list.items, c->u.list.n, sizeof(feel_value_t *), cmp_sort);
    return c;
}

static feel_value_t *f_median(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    feel_value_t *s = sorted_nums(ev, a, n, "median");
    if (s->t != FEEL_LIST || s->u.list.n == 0)
        return feel_null();
    size_t k = s->u.list.n;
    if (k % 2)
        return s->u.list.items[k / 2];
    feel_dec_t r;
    feel_dec_add(s->u.list.items[k / 2 - 1]->u.n, s->u.list.items[k / 2]->u.n, &r);
    feel_dec_div(r, feel_dec_from_int(2), &r);
    return feel_num(ev, r);
}

static feel_value_t *f_stddev(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    const feel_value_t *l = items_of(ev, a, n);
    if (!l || !all_nums(l))
        return feel_err(ev, "stddev(list of numbers)");
    if (l->u.list.n < 2)
        return feel_null();
    feel_dec_t mean = feel_dec_from_int(0), ss = feel_dec_from_int(0), d;
    for (size_t i = 0; i < l->u.list.n; i++)
        feel_dec_add(mean, l->u.list.items[i]->u.n, &mean);
    feel_dec_div(mean, feel_dec_from_int((int64_t)l->u.list.n), &mean);
    for (size_t i = 0; i < l->u.list.n; i++) {
        feel_dec_sub(l->u.list.items[i]->u.n, mean, &d);
        feel_dec_mul(d, d, &d);
        feel_dec_add(ss, d, &ss);
    }
    feel_dec_div(ss, feel_dec_from_int((int64_t)l->u.list.n - 1), &ss);
    return feel_num_double(ev, sqrtl(feel_dec_to_double(ss)));
}

static feel_value_t *f_mode(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    feel_value_t *s = sorted_nums(ev, a, n, "mode");
    if (s->t != FEEL_LIST)
        return s;
    size_t best = 0;
    for (size_t i = 0; i < s->u.list.n;) {
        size_t j = i;
        while (j < s->u.list.n && feel_equal(s->u.list.items[i], s->u.list.items[j]) == 1)
            j++;
        if (j - i > best)
            best = j - i;
        i = j;
    }
    feel_value_t **out = feel_alloc(ev, sizeof(*out) * (s->u.list.n + 1));
    size_t no = 0;
    for (size_t i = 0; out && i < s->u.list.n;) {
        size_t j = i;
        while (j < s->u.list.n && feel_equal(s->u.list.items[i], s->u.list.items[j]) == 1)
            j++;
        if (j - i == best)
            out[no++] = s->u.list.items[i];
        i = j;
    }
    return feel_list_from(ev, out, no);
}

static feel_value_t *allany(feel_eval_t *ev, feel_value_t **a, size_t n, bool all)
{
    const feel_value_t *l = items_of(ev, a, n);
    if (!l)
        return feel_err(ev, "%s(list of booleans)", all ? "all" : "any");
    bool unknown = false;
    for (size_t i = 0; i < l->u.list.n; i++) {
        const feel_value_t *x = l->u.list.items[i];
        if (x->t != FEEL_BOOL)
            unknown = true;
        else if (x->u.b != all)
            return feel_bool(!all);
    }
    return unknown ? feel_null() : feel_bool(all);
}
static feel_value_t *f_all(feel_eval_t *ev, feel_value_t **a, size_t n) { return allany(ev, a, n, true); }
static feel_value_t *f_any(feel_eval_t *ev, feel_value_t **a, size_t n) { return allany(ev, a, n, false); }

static feel_value_t *f_sublist(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    int64_t start, len = -1;
    if (a[0]->t != FEEL_LIST || !int_arg(a[1], &start) || (n > 2 && !int_arg(a[2], &len)))
        return feel_err(ev, "sublist(list, start position, length?)");
    int64_t cnt = (int64_t)a[0]->u.list.n, from = start > 0 ? start - 1 : cnt + start;
    if (start == 0 || from < 0 || from >= cnt)
        return feel_err(ev, "sublist: start position out of range");
    if (len < 0 || from + len > cnt)
        len = cnt - from;
    return feel_list_from(ev, a[0]->u.list.items + from, (size_t)len);
}

static feel_value_t *f_append(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST)
        return feel_err(ev, "append(list, item...)");
    feel_value_t *r = feel_list(ev, a[0]->u.list.n + n - 1);
    if (r->t != FEEL_LIST)
        return r;
    memcpy(r->u.list.items, a[0]->u.list.items, a[0]->u.list.n * sizeof(feel_value_t *));
    memcpy(r->u.list.items + a[0]->u.list.n, a + 1, (n - 1) * sizeof(feel_value_t *));
    return r;
}

static feel_value_t *f_concatenate(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    size_t tot = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i]->t != FEEL_LIST)
            return feel_err(ev, "concatenate(list...)");
        tot += a[i]->u.list.n;
    }
    feel_value_t *r = feel_list(ev, tot);
    if (r->t != FEEL_LIST)
        return r;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(r->u.list.items + o, a[i]->u.list.items, a[i]->u.list.n * sizeof(feel_value_t *));
        o += a[i]->u.list.n;
    }
    return r;
}

static feel_value_t *f_insert_before(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    int64_t pos;
    if (a[0]->t != FEEL_LIST || !int_arg(a[1], &pos))
        return feel_err(ev, "insert before(list, position, newItem)");
    int64_t cnt = (int64_t)a[0]->u.list.n, at = pos > 0 ? pos - 1 : cnt + pos;
    if (pos == 0 || at < 0 || at > cnt)
        return feel_err(ev, "insert before: position out of range");
    feel_value_t *r = feel_list(ev, (size_t)cnt + 1);
    if (r->t != FEEL_LIST)
        return r;
    memcpy(r->u.list.items, a[0]->u.list.items, (size_t)at * sizeof(feel_value_t *));
    r->u.list.items[at] = a[2];
    memcpy(r->u.list.items + at + 1, a[0]->u.list.items + at, (size_t)(cnt - at) * sizeof(feel_value_t *));
    return r;
}

static feel_value_t *f_remove(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    int64_t pos;
    if (a[0]->t != FEEL_LIST || !int_arg(a[1], &pos))
        return feel_err(ev, "remove(list, position)");
    int64_t cnt = (int64_t)a[0]->u.list.n, at = pos > 0 ? pos - 1 : cnt + pos;
    if (pos == 0 || at < 0 || at >= cnt)
        return feel_err(ev, "remove: position out of range");
    feel_value_t *r = feel_list(ev, (size_t)cnt - 1);
    if (r->t != FEEL_LIST)
        return r;
    memcpy(r->u.list.items, a[0]->u.list.items, (size_t)at * sizeof(feel_value_t *));
    memcpy(r->u.list.items + at, a[0]->u.list.items + at + 1, (size_t)(cnt - at - 1) * sizeof(feel_value_t *));
    return r;
}

static feel_value_t *f_reverse(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST)
        return feel_err(ev, "reverse(list)");
    size_t k = a[0]->u.list.n;
    feel_value_t *r = feel_list(ev, k);
    for (size_t i = 0; r->t == FEEL_LIST && i < k; i++)
        r->u.list.items[i] = a[0]->u.list.items[k - 1 - i];
    return r;
}

static feel_value_t *f_index_of(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST)
        return feel_err(ev, "index of(list, match)");
    feel_value_t **out = feel_alloc(ev, sizeof(*out) * (a[0]->u.list.n + 1));
    if (!out)
        return feel_null();
    size_t no = 0;
    for (size_t i = 0; i < a[0]->u.list.n; i++)
        if (feel_equal(a[0]->u.list.items[i], a[1]) == 1)
            out[no++] = feel_num_int(ev, (int64_t)i + 1);
    return feel_list_from(ev, out, no);
}

static feel_value_t *f_union(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    feel_value_t *c = f_concatenate(ev, a, n);
    return c->t == FEEL_LIST ? feel_distinct(ev, c->u.list.items, c->u.list.n) : c;
}

static feel_value_t *f_distinct(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST)
        return feel_err(ev, "distinct values(list)");
    return feel_distinct(ev, a[0]->u.list.items, a[0]->u.list.n);
}

static void flat_into(feel_eval_t *ev, const feel_value_t *l, feel_value_t *out, size_t *cap)
{
    for (size_t i = 0; i < l->u.list.n; i++) {
        feel_value_t *x = l->u.list.items[i];
        if (x->t == FEEL_LIST) {
            flat_into(ev, x, out, cap);
            continue;
        }
        if (out->u.list.n == *cap) {
            size_t nc = *cap * 2 + 8;
            feel_value_t **ni = feel_alloc(ev, nc * sizeof(*ni));
            if (!ni)
                return;
            memcpy(ni, out->u.list.items, out->u.list.n * sizeof(*ni));
            out->u.list.items = ni;
            *cap = nc;
        }
        out->u.list.items[out->u.list.n++] = x;
    }
}

static feel_value_t *f_flatten(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST)
        return feel_err(ev, "flatten(list)");
    feel_value_t *r = feel_list(ev, 0);
    size_t cap = 0;
    if (r->t == FEEL_LIST)
        flat_into(ev, a[0], r, &cap);
    return r;
}

/* Bottom-up merge sort with the user's precedes(x, y): stable, n·log n calls, and it
 * ends whatever the function answers (an inconsistent order only gives some order).
 * An item moves before an earlier one only when precedes(later, earlier) is true. */
static bool sort_user(feel_eval_t *ev, const feel_value_t *fn, feel_value_t **v, size_t n)
{
    feel_value_t **tmp = feel_alloc(ev, sizeof(*tmp) * (n + 1));
    if (!tmp)
        return false;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) {
                feel_value_t *args[2] = { v[j], v[i] };
                if (ev->steps > ev->lim.max_steps)  /* the step limit: stop calling */
                    return false;
                tmp[o++] = feel_is_true(feel_call(ev, fn, args, 2)) ? v[j++] : v[i++];
            }
            while (i < mid)
                tmp[o++] = v[i++];
            while (j < hi)
                tmp[o++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof(*v));
    }
    return true;
}

static feel_value_t *f_sort(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST || (n > 1 && a[1]->t != FEEL_FN && a[1]->t != FEEL_NULL))
        return feel_err(ev, "sort(list, precedes?)");
    if (!charge_sort(ev, a[0]->u.list.n))
        return feel_null();
    feel_value_t *c = feel_list_from(ev, a[0]->u.list.items, a[0]->u.list.n);
    if (c->t != FEEL_LIST)
        return c;
    if (n > 1 && a[1]->t == FEEL_FN)
        return sort_user(ev, a[1], c->u.list.items, c->u.list.n) ? c : feel_null();
    for (size_t i = 1; i < c->u.list.n; i++)
        if (feel_compare(c->u.list.items[0], c->u.list.items[i]) == FEEL_INCOMPARABLE)
            return feel_err(ev, "sort: items are not comparable");
    qsort(c->u.list.items, c->u.list.n, sizeof(feel_value_t *), cmp_sort);
    return c;
}

static feel_value_t *f_list_contains(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST)
        return feel_err(ev, "list contains(list, element)");
    for (size_t i = 0; i < a[0]->u.list.n; i++)
        if (feel_equal(a[0]->u.list.items[i], a[1]) == 1)
            return feel_bool(true);
    return feel_bool(false);
}

/* ---- contexts ---- */
static feel_value_t *f_get_value(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_CTX || a[1]->t != FEEL_STR)
        return feel_err(ev, "get value(m, key)");
    feel_value_t *v = feel_ctx_get(a[0], a[1]->u.str.s);
    return v ? v : feel_null();
}

static feel_value_t *f_get_entries(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_CTX)
        return feel_err(ev, "get entries(m)");
    feel_value_t *l = feel_list(ev, a[0]->u.ctx.n);
    for (size_t i = 0; l->t == FEEL_LIST && i < a[0]->u.ctx.n; i++) {
        feel_value_t *e = feel_context(ev);
        feel_ctx_put(ev, e, "key", feel_cstr(ev, a[0]->u.ctx.keys[i]));
        feel_ctx_put(ev, e, "value", a[0]->u.ctx.vals[i]);
        l->u.list.items[i] = e;
    }
    return l;
}

static feel_value_t *copy_ctx(feel_eval_t *ev, const feel_value_t *c)
{
    feel_value_t *r = feel_context(ev);
    for (size_t i = 0; i < c->u.ctx.n; i++)
        feel_ctx_put(ev, r, c->u.ctx.keys[i], c->u.ctx.vals[i]);
    return r;
}

static feel_value_t *f_context_put(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_CTX || a[1]->t != FEEL_STR)
        return feel_err(ev, "context put(context, key, value)");
    feel_value_t *r = copy_ctx(ev, a[0]);
    feel_ctx_put(ev, r, a[1]->u.str.s, a[2]);
    return r;
}

static feel_value_t *f_context_merge(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST)
        return feel_err(ev, "context merge(contexts)");
    feel_value_t *r = feel_context(ev);
    for (size_t i = 0; i < a[0]->u.list.n; i++) {
        const feel_value_t *c = a[0]->u.list.items[i];
        if (c->t != FEEL_CTX)
            return feel_err(ev, "context merge: items must be contexts");
        for (size_t k = 0; k < c->u.ctx.n; k++)
            feel_ctx_put(ev, r, c->u.ctx.keys[k], c->u.ctx.vals[k]);
    }
    return r;
}

const feel_builtin_t feel_builtins_core[] = {
    { "string", "from", f_string },
    { "number", "from,grouping separator?,decimal separator?", f_number },
    { "date", "from|year,month?,day?", f_date },
    { "time", "from|hour,minute?,second?,offset?", f_time },
    { "date and time", "from|date,time?", f_dt },
    { "duration", "from", f_duration },
    { "years and months duration", "from,to", f_ymd },
    { "not", "negand", f_not },
    { "decimal", "n,scale", f_decimal },
    { "floor", "n,scale?", f_floor },
    { "ceiling", "n,scale?", f_ceiling },
    { "round up", "n,scale", f_round_up },
    { "round down", "n,scale", f_round_down },
    { "round half up", "n,scale", f_round_half_up },
    { "round half down", "n,scale", f_round_half_down },
    { "abs", "n", f_abs },
    { "modulo", "dividend,divisor", f_modulo },
    { "sqrt", "number", f_sqrt },
    { "log", "number", f_log },
    { "exp", "number", f_exp },
    { "odd", "number", f_odd },
    { "even", "number", f_even },
    { "count", "list", f_count },
    { "min", "list*", f_min },
    { "max", "list*", f_max },
    { "sum", "list*", f_sum },
    { "mean", "list*", f_mean },
    { "median", "list*", f_median },
    { "stddev", "list*", f_stddev },
    { "mode", "list*", f_mode },
    { "all", "list*", f_all },
    { "any", "list*", f_any },
    { "product", "list*", f_product },
    { "sublist", "list,start position,length?", f_sublist },
    { "append", "list,item*", f_append },
    { "concatenate", "list*", f_concatenate },
    { "insert before", "list,position,newItem", f_insert_before },
    { "remove", "list,position", f_remove },
    { "reverse", "list", f_reverse },
    { "index of", "list,match", f_index_of },
    { "union", "list*", f_union },
    { "distinct values", "list", f_distinct },
    { "flatten", "list", f_flatten },
    { "sort", "list,precedes?", f_sort },
    { "list contains", "list,element", f_list_contains },
    { "get value", "m,key", f_get_value },
    { "get entries", "m", f_get_entries },
    { "context put", "context,key,value", f_context_put },
    { "context merge", "contexts", f_context_merge },
    { NULL, NULL, NULL },
};

const feel_builtin_t *feel_builtin_find(const char *name)
{
    for (const feel_builtin_t *b = feel_builtins_core; b->name; b++)
        if (!strcmp(b->name, name))
            return b;
    for (const feel_builtin_t *b = feel_builtins_str; b->name; b++)
        if (!strcmp(b->name, name))
            return b;
    return NULL;
}

bool feel_builtin_unwraps(const feel_builtin_t *bi)
{
    const feel_builtin_t *b = feel_builtins_str;
    while (b->name && b != bi)
        b++;
    return b == bi;
}

static const char *all_names[128];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_init(void)
{
    size_t k = 0;
    for (const feel_builtin_t *b = feel_builtins_core; b->name && k < 120; b++)
        all_names[k++] = b->name;
    for (const feel_builtin_t *b = feel_builtins_str; b->name && k < 120; b++)
        all_names[k++] = b->name;
    all_names[k] = NULL;
}

const char *const *feel_builtin_names(void)
{
    pthread_once(&names_once, names_init);
    return all_names;
}
