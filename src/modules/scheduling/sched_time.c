/*
 * sched_time.c — when a schedule fires: cron expressions read the way npm cron-parser 5
 * reads them (5 fields or a leading seconds field, @yearly … @hourly, ranges, steps,
 * lists, names, L, nL, #), their next fire times in an IANA zone with cron-parser's
 * DST behaviour, ISO 8601 durations for intervals and RFC 3339 instants.
 *
 * The search is a port of cron-parser's CronExpression#findSchedule over a date that
 * behaves like the luxon DateTime it uses: days and months move in local time and are
 * resolved back to UTC with luxon's fixOffset (a local time in a DST gap moves forward,
 * one in an overlap keeps the offset the date had), hours and smaller units move in
 * absolute time. Zone offsets come from the system zoneinfo through the FEEL
 * library's reader (feel_zone_offset); nothing here parses TZif itself.
 */
#include "sched_int.h"

#include "../../feel/feel_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

static const char *const field_names[6] = { "second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek" };
static const int field_min[6] = { 0, 0, 0, 1, 1, 0 }, field_max[6] = { 59, 59, 23, 31, 12, 7 };
static const int days_in_month_max[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static const struct { const char *name, *expr; } predefined[] = {
    { "@yearly", "0 0 0 1 1 *" }, { "@annually", "0 0 0 1 1 *" }, { "@monthly", "0 0 0 1 * *" },
    { "@weekly", "0 0 0 * * 0" }, { "@daily", "0 0 0 * * *" },    { "@hourly", "0 0 * * * *" },
    { "@minutely", "0 * * * * *" }, { "@secondly", "* * * * * *" }, { "@weekdays", "0 0 0 * * 1-5" },
    { "@weekends", "0 0 0 * * 0,6" },
};
static const char *const month_names[12] = { "jan", "feb", "mar", "apr", "may", "jun",
                                             "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, unsigned m)
{
    return m == 2 ? (is_leap(y) ? 29 : 28) : days_in_month_max[m - 1];
}

/* ---- parsing ---- */

static int fail(char *err, size_t errlen, const char **field, int f, const char *fmt, const char *a)
{
    char msg[200];
    snprintf(msg, sizeof(msg), fmt, a);
    if (field)
        *field = f >= 0 ? field_names[f] : NULL;
    if (f >= 0)
        snprintf(err, errlen, "%s field: %s", field_names[f], msg);
    else
        snprintf(err, errlen, "%s", msg);
    return FM_EINVAL;
}

/* A run of digits, at most 3 of them; -1 when s is not exactly that. */
static int number(const char *s, size_t n)
{
    if (n == 0 || n > 3)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Names to numbers the way cron-parser does it: every 3-letter run is a month or day
 * name (either table, in either field); a lone L stays. */
static int replace_names(int f, const char *in, char *out, size_t outlen, char *err, size_t errlen,
                         const char **field)
{
    size_t o = 0;
    for (const char *p = in; *p;) {
        if (isalpha((unsigned char)*p)) {
            size_t n = 0;
            while (isalpha((unsigned char)p[n]))
                n++;
            if (n == 1 && (*p == 'L' || *p == 'l')) {
                if (o + 1 >= outlen)
                    return fail(err, errlen, field, f, "%s", "too long");
                out[o++] = 'L';
                p++;
                continue;
            }
            char name[4] = { 0 };
            int v = -1;
            if (n == 3) {
                for (int i = 0; i < 3; i++)
                    name[i] = (char)tolower((unsigned char)p[i]);
                for (int i = 0; i < 12 && v < 0; i++)
                    if (!strcmp(name, month_names[i]))
                        v = i + 1;
                for (int i = 0; i < 7 && v < 0; i++)
                    if (!strcmp(name, day_names[i]))
                        v = i;
            }
            if (v < 0) {
                char bad[24];
                snprintf(bad, sizeof(bad), "%.*s", (int)(n > 20 ? 20 : n), p);
                return fail(err, errlen, field, f, "unknown name \"%s\"", bad);
            }
            int w = snprintf(out + o, outlen - o, "%d", v);
            if (w < 0 || (size_t)w >= outlen - o)
                return fail(err, errlen, field, f, "%s", "too long");
            o += (size_t)w;
            p += 3;
            continue;
        }
        if (o + 1 >= outlen)
            return fail(err, errlen, field, f, "%s", "too long");
        out[o++] = *p++;
    }
    out[o] = 0;
    return FM_OK;
}

static int set_bit(int f, uint64_t *bits, int v, char *err, size_t errlen, const char **field)
{
    if (*bits & (1ULL << v)) {
        char n[8];
        snprintf(n, sizeof(n), "%d", v);
        return fail(err, errlen, field, f, "duplicate value %s", n);
    }
    *bits |= 1ULL << v;
    return FM_OK;
}

/* One field's text (names already replaced) into bits; L forms into the L flags. */
static int parse_field(int f, const char *text, uint64_t *bits, bool *dom_last, uint8_t *dow_last,
                       char *err, size_t errlen, const char **field)
{
    const char *allowed = f == 3 ? "0123456789,-/*?L" : f == 5 ? "0123456789,-/*?L" : "0123456789,-/*?";
    for (const char *p = text; *p; p++)
        if (!strchr(allowed, *p)) {
            char c[2] = { *p, 0 };
            return fail(err, errlen, field, f, "invalid character '%s'", c);
        }
    int lo = field_min[f], hi = field_max[f];
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            return fail(err, errlen, field, f, "%s", "empty list item");
        char item[64];
        if (n >= sizeof(item))
            return fail(err, errlen, field, f, "%s", "list item too long");
        memcpy(item, p, n);
        item[n] = 0;
        char *slash = strchr(item, '/');
        int step = 1;
        if (slash) {
            *slash = 0;
            if (strchr(slash + 1, '/'))
                return fail(err, errlen, field, f, "invalid repeat \"%s\"", item);
            step = number(slash + 1, strlen(slash + 1));
            if (step <= 0)
                return fail(err, errlen, field, f, "%s", "a step must be a positive number");
        }
        int a, b;
        char *dash = strchr(item, '-');
        if (!strcmp(item, "*") || !strcmp(item, "?")) {
            a = lo;
            b = hi;
        } else if (dash) {
            *dash = 0;
            a = number(item, strlen(item));
            b = number(dash + 1, strlen(dash + 1));
            if (a < 0 || b < 0)
                return fail(err, errlen, field, f, "%s", "a range needs two numbers, as in 1-5");
            if (a < lo || b > hi) {
                char r[32];
                snprintf(r, sizeof(r), "%d-%d (allowed %d-%d)", a, b, lo, hi);
                return fail(err, errlen, field, f, "range %s is out of bounds", r);
            }
            if (a > b) {
                char r[24];
                snprintf(r, sizeof(r), "%d-%d", a, b);
                return fail(err, errlen, field, f, "range %s has its start after its end", r);
            }
        } else if (strchr(item, 'L')) {
            if (slash)
                return fail(err, errlen, field, f, "%s", "L cannot take a step");
            if (f == 3) {
                if (strcmp(item, "L"))
                    return fail(err, errlen, field, f, "\"%s\": only a lone L (last day) is supported", item);
                if (*dom_last)
                    return fail(err, errlen, field, f, "%s", "duplicate value L");
                *dom_last = true;
            } else {
                int d = strlen(item) == 2 ? number(item, 1) : -1;
                if (d < 0 || d > 7 || item[1] != 'L')
                    return fail(err, errlen, field, f,
                                "\"%s\": L needs one weekday 0-7 before it, as in 5L (last Friday)", item);
                *dow_last |= (uint8_t)(1u << (d % 7));
            }
            goto next;
        } else {
            a = number(item, strlen(item));
            if (a < 0)
                return fail(err, errlen, field, f, "\"%s\" is not a number", item);
            if (a < lo || a > hi) {
                char r[32];
                snprintf(r, sizeof(r), "%d (allowed %d-%d)", a, lo, hi);
                return fail(err, errlen, field, f, "value %s is out of range", r);
            }
            /* a number with a step runs to the field's end, as in 5/15 */
            b = slash ? hi : a;
            if (!slash && f == 5)
                a = b = a % 7;
        }
        uint64_t rb = 0;
        if (f == 5 && b % 7 == 0 && (slash || dash || a != b))
            rb |= 1;    /* cron-parser adds Sunday (0) to a range that ends on 7 */
        for (int v = a; v <= b; v += step)
            rb |= 1ULL << v;
        if (*bits & rb)
            return set_bit(f, bits, __builtin_ctzll(*bits & rb), err, errlen, field);
        *bits |= rb;
    next:
        if (!end)
            break;
        p = end + 1;
    }
    return FM_OK;
}

int sched_cron_parse(const char *expr, sched_cron_t *c, char *err, size_t errlen, const char **field)
{
    memset(c, 0, sizeof(*c));
    if (field)
        *field = NULL;
    if (strlen(expr) > SCHED_CRON_MAX)
        return fail(err, errlen, field, -1, "a cron expression is at most %s characters", "200");
    while (isspace((unsigned char)*expr))
        expr++;
    char buf[SCHED_CRON_MAX + 1];
    snprintf(buf, sizeof(buf), "%s", expr);
    for (size_t n = strlen(buf); n && isspace((unsigned char)buf[n - 1]);)
        buf[--n] = 0;
    if (buf[0] == '@') {
        const char *e = NULL;
        for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]) && !e; i++)
            if (!strcmp(buf, predefined[i].name))
                e = predefined[i].expr;
        if (!e)
            return fail(err, errlen, field, -1,
                        "unknown macro \"%s\" (known: @yearly, @annually, @monthly, @weekly, @daily, @hourly, "
                        "@minutely, @secondly, @weekdays, @weekends)", buf);
        snprintf(buf, sizeof(buf), "%s", e);
    }
    char *atoms[7];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == 6)
            return fail(err, errlen, field, -1, "%s", "too many fields: a cron expression has 5 fields, or 6 with seconds first");
        atoms[n++] = t;
    }
    if (n < 5)
        return fail(err, errlen, field, -1, "%s", "too few fields: a cron expression has 5 fields (minute hour "
                                                 "dayOfMonth month dayOfWeek), or 6 with seconds first");
    char *raw[6];
    static char zero[] = "0";
    if (n == 5) {
        raw[0] = zero;
        memcpy(raw + 1, atoms, 5 * sizeof(char *));
    } else {
        memcpy(raw, atoms, 6 * sizeof(char *));
    }
    uint64_t bits[6] = { 0 };
    for (int f = 0; f < 6; f++) {
        char text[SCHED_CRON_MAX + 16];
        const char *src = raw[f];
        char nth_part[SCHED_CRON_MAX + 1];
        if (f == 5 && strchr(src, '#')) {
            const char *h = strchr(src, '#');
            if (strchr(h + 1, '#') || strpbrk(src, ",-/"))
                return fail(err, errlen, field, f, "%s", "# cannot be combined with lists, ranges or steps");
            int nth = number(h + 1, strlen(h + 1));
            if (nth < 1 || nth > 5)
                return fail(err, errlen, field, f, "%s", "the occurrence after # must be 1 to 5");
            c->nth = nth;
            snprintf(nth_part, sizeof(nth_part), "%.*s", (int)(h - src), src);
            src = nth_part;
        }
        if (f == 4 || f == 5) {
            if (replace_names(f, src, text, sizeof(text), err, errlen, field) != FM_OK)
                return FM_EINVAL;
        } else {
            snprintf(text, sizeof(text), "%s", src);
        }
        if (!text[0])
            return fail(err, errlen, field, f, "%s", "empty");
        if (parse_field(f, text, &bits[f], &c->dom_last, &c->dow_last, err, errlen, field) != FM_OK)
            return FM_EINVAL;
        if (bits[f] == 0 && !(f == 3 && c->dom_last) && !(f == 5 && c->dow_last))
            return fail(err, errlen, field, f, "%s", "no values");
    }
    c->sec = bits[0];
    c->min = bits[1];
    c->hour = (uint32_t)bits[2];
    c->dom = (uint32_t)bits[3];
    c->mon = (uint16_t)bits[4];
    c->dow = (uint8_t)((bits[5] | (bits[5] >> 7)) & 0x7f);
    c->nhours = __builtin_popcountll(bits[2]);
    c->dom_wild = !strcmp(raw[3], "*") || !strcmp(raw[3], "?");
    c->dow_wild = !strcmp(raw[5], "*") || !strcmp(raw[5], "?");
    /* cron-parser: one month and a plain day that month never has */
    if (__builtin_popcount(c->mon) == 1 && !c->dom_last && c->dom) {
        int m = __builtin_ctz(c->mon), d = __builtin_ctz(c->dom);
        if (d > days_in_month_max[m - 1])
            return fail(err, errlen, field, 3, "day %s never occurs in the only month given",
                        d == 31 ? "31" : d == 30 ? "30" : "29+");
    }
    return FM_OK;
}

/* ---- zone offsets ---- */

bool sched_zone_valid(const char *zone)
{
    int32_t off;
    return zone && *zone && strlen(zone) < SCHED_ZONE_MAX && strcmp(zone, "Z") &&
           feel_zone_offset(zone, 0, false, &off) == 0;
}

static int32_t zone_off(sched_iter_t *it, int64_t t_ms)
{
    int64_t secs = floor_div(t_ms, 1000), minute = floor_div(secs, 60);
    unsigned slot = (unsigned)(minute & (SCHED_OFF_CACHE - 1));
    if (it->cache_key[slot] == minute + 1)
        return it->cache_off[slot];
    int32_t off = 0;
    feel_zone_offset(it->zone, secs, false, &off);
    it->cache_key[slot] = minute + 1;
    it->cache_off[slot] = off;
    return off;
}

/* ---- a date that moves like cron-parser's CronDate over luxon ---- */

static void split_local(sched_iter_t *it)
{
    sched_date_t *d = &it->d;
    int64_t local = d->t + (int64_t)d->o * 1000;
    int64_t days = floor_div(local, DAY_MS), rem = local - days * DAY_MS;
    unsigned m, dd;
    feel_civil_from_days(days, &d->y, &m, &dd);
    d->mo = (int)m;
    d->d = (int)dd;
    d->h = (int)(rem / 3600000);
    d->mi = (int)(rem / 60000 % 60);
    d->s = (int)(rem / 1000 % 60);
    d->ms = (int)(rem % 1000);
    d->wd = (int)(((days % 7) + 11) % 7);    /* 1970-01-01 was a Thursday (4) */
}

/* luxon's fixOffset: the UTC instant of a local time, given the offset we had. */
static void set_local(sched_iter_t *it, int64_t y, int mo, int d, int h, int mi, int s, int ms)
{
    while (mo > 12) {
        mo -= 12;
        y++;
    }
    int64_t local = (feel_days_from_civil(y, (unsigned)mo, 1) + d - 1) * DAY_MS + (int64_t)h * 3600000 +
                    (int64_t)mi * 60000 + (int64_t)s * 1000 + ms;
    int32_t o = it->d.o;
    int64_t guess = local - (int64_t)o * 1000;
    int32_t o2 = zone_off(it, guess);
    if (o2 == o) {
        it->d.t = guess;
    } else {
        guess -= (int64_t)(o2 - o) * 1000;
        int32_t o3 = zone_off(it, guess);
        if (o3 == o2) {
            it->d.t = guess;
            o = o2;
        } else {    /* in a gap: keep the wall time's distance, take the later offset */
            it->d.t = local - (int64_t)(o2 < o3 ? o2 : o3) * 1000;
            o = o2 > o3 ? o2 : o3;
        }
    }
    it->d.o = o;
    split_local(it);
}

static void add_abs(sched_iter_t *it, int64_t ms)
{
    it->d.t += ms;
    it->d.o = zone_off(it, it->d.t);
    split_local(it);
}

enum { U_MONTH, U_DAY, U_HOUR, U_MINUTE, U_SECOND };

static void add_unit(sched_iter_t *it, int unit)
{
    sched_date_t *d = &it->d;
    switch (unit) {
    case U_MONTH: {
        int64_t y = d->y + (d->mo == 12);
        int mo = d->mo % 12 + 1, dim = days_in_month(y, (unsigned)mo);
        set_local(it, d->y, d->mo + 1, d->d < dim ? d->d : dim, d->h, d->mi, d->s, d->ms);
        set_local(it, d->y, d->mo, 1, 0, 0, 0, 0);
        break;
    }
    case U_DAY:
        set_local(it, d->y, d->mo, d->d + 1, d->h, d->mi, d->s, d->ms);
        set_local(it, d->y, d->mo, d->d, 0, 0, 0, 0);
        break;
    case U_HOUR:
        add_abs(it, 3600000);
        set_local(it, d->y, d->mo, d->d, d->h, 0, 0, 0);
        break;
    case U_MINUTE:
        add_abs(it, 60000);
        set_local(it, d->y, d->mo, d->d, d->h, d->mi, 0, 0);
        break;
    default:
        add_abs(it, 1000);
    }
}

/* CronDate.applyDateOperation: notes the hour a DST change skipped to or repeats. */
static void apply_unit(sched_iter_t *it, int unit)
{
    if (unit == U_MONTH || unit == U_DAY) {
        add_unit(it, unit);
        return;
    }
    int before = it->d.h;
    add_unit(it, unit);
    int diff = it->d.h - before;
    if (diff == 2) {
        if (it->c->nhours != 24)
            it->d.dst_start = it->d.h;
    } else if (diff == 0 && it->d.mi == 0 && it->d.s == 0) {
        if (it->c->nhours != 24)
            it->d.dst_end = it->d.h;
    }
}

static bool match_dom(const sched_iter_t *it)
{
    const sched_cron_t *c = it->c;
    const sched_date_t *d = &it->d;
    int dim = days_in_month(d->y, (unsigned)d->mo);
    bool dom = (c->dom >> d->d & 1) || (c->dom_last && d->d == dim);
    bool dow = (c->dow >> d->wd & 1) || ((c->dow_last >> d->wd & 1) && d->d > dim - 7);
    if (!c->dom_wild && !c->dow_wild && (dom || dow))
        return true;
    if (dom && c->dow_wild)
        return true;
    return c->dom_wild && !c->dow_wild && dow;
}

static bool match_hour(sched_iter_t *it)
{
    sched_date_t *d = &it->d;
    bool is_match = it->c->hour >> d->h & 1;
    bool dst_start = d->dst_start == d->h, dst_end = d->dst_end == d->h;
    if (!is_match && !dst_start) {
        d->dst_start = -1;
        apply_unit(it, U_HOUR);
        return false;
    }
    if (dst_start && !(d->h >= 1 && (it->c->hour >> (d->h - 1) & 1))) {
        add_unit(it, U_HOUR);
        return false;
    }
    if (dst_end) {
        d->dst_end = -1;
        apply_unit(it, U_HOUR);
        return false;
    }
    return true;
}

void sched_iter_init(sched_iter_t *it, const sched_cron_t *c, const char *zone, int64_t from_ms)
{
    memset(it, 0, sizeof(*it));
    it->c = c;
    snprintf(it->zone, sizeof(it->zone), "%s", zone);
    it->d.t = from_ms;
    it->d.o = zone_off(it, from_ms);
    it->d.dst_start = it->d.dst_end = -1;
    split_local(it);
}

bool sched_iter_next(sched_iter_t *it, int64_t *out_ms)
{
    const sched_cron_t *c = it->c;
    sched_iter_t save = *it;
    int64_t start = it->d.t;
    bool found = false;
    for (int step = 1; step < SCHED_CRON_STEPS; step++) {
        sched_date_t *d = &it->d;
        if (!match_dom(it) || (c->nth > 0 && (d->d + 6) / 7 != c->nth)) {
            apply_unit(it, U_DAY);
            continue;
        }
        if (!(c->mon >> d->mo & 1)) {
            apply_unit(it, U_MONTH);
            continue;
        }
        if (!match_hour(it))
            continue;
        if (!(c->min >> d->mi & 1)) {
            apply_unit(it, U_MINUTE);
            continue;
        }
        if (!(c->sec >> d->s & 1)) {
            apply_unit(it, U_SECOND);
            continue;
        }
        if (start == d->t) {
            apply_unit(it, U_SECOND);
            continue;
        }
        found = true;
        break;
    }
    if (!found) {
        *it = save;
        return false;
    }
    if (it->d.ms)
        set_local(it, it->d.y, it->d.mo, it->d.d, it->d.h, it->d.mi, it->d.s, 0);
    *out_ms = it->d.t;
    return true;
}

/* ---- instants and durations ---- */

int sched_parse_instant(const char *s, int64_t *ms)
{
    int Y, M, D, h, m, sec, n = 0;
    if (!s || strlen(s) > 40 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || n != 19)
        return FM_EINVAL;
    if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, (unsigned)M) || h > 23 || m > 59 || sec > 59 || Y < 1970)
        return FM_EINVAL;
    const char *p = s + 19;
    int frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
        if (!digits || digits > 9)
            return FM_EINVAL;
        for (; digits < 3; digits++)
            frac *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
               p[3] == ':' && isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
        int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
        if (oh > 18 || om > 59)
            return FM_EINVAL;
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return FM_EINVAL;
    }
    if (*p)
        return FM_EINVAL;
    *ms = (feel_days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec - off) * 1000 + frac;
    return FM_OK;
}

int sched_parse_duration(const char *s, int64_t *ms, char *err, size_t errlen)
{
    const char *p = s;
    if (!s || *p++ != 'P' || !*p || strlen(s) > 40) {
        snprintf(err, errlen, "an ISO 8601 duration such as PT15M, PT1H30M or P1D");
        return FM_EINVAL;
    }
    bool in_time = false, any = false;
    int64_t total = 0;
    while (*p) {
        if (*p == 'T') {
            if (in_time || !p[1])
                goto bad;
            in_time = true;
            p++;
            continue;
        }
        int64_t v = 0, frac = 0;
        int digits = 0, fdigits = 0;
        while (isdigit((unsigned char)*p) && digits < 9) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        if (*p == '.' || *p == ',') {
            p++;
            while (isdigit((unsigned char)*p)) {
                if (fdigits < 3) {
                    frac = frac * 10 + (*p - '0');
                    fdigits++;
                }
                p++;
            }
            for (; fdigits < 3; fdigits++)
                frac *= 10;
            if (*p != 'S' || !in_time)
                goto bad;
        }
        if (!digits)
            goto bad;
        int64_t unit;
        char u = *p++;
        if (!in_time && (u == 'Y' || u == 'M')) {
            snprintf(err, errlen, "years and months have no fixed length: use a cron expression for calendar intervals");
            return FM_EINVAL;
        }
        if (!in_time && u == 'W')
            unit = 7 * DAY_MS;
        else if (!in_time && u == 'D')
            unit = DAY_MS;
        else if (in_time && u == 'H')
            unit = 3600000;
        else if (in_time && u == 'M')
            unit = 60000;
        else if (in_time && u == 'S')
            unit = 1000;
        else
            goto bad;
        total += v * unit + frac;
        any = true;
        if (total > SCHED_INTERVAL_MAX_MS) {
            snprintf(err, errlen, "at most 366 days");
            return FM_EINVAL;
        }
    }
    if (!any)
        goto bad;
    if (total < 1000) {
        snprintf(err, errlen, "at least one second");
        return FM_EINVAL;
    }
    *ms = total;
    return FM_OK;
bad:
    snprintf(err, errlen, "not an ISO 8601 duration (days, hours, minutes, seconds: PT15M, PT1H30M, P1D, P1W)");
    return FM_EINVAL;
}

void sched_format_utc(int64_t ms, char out[40])
{
    int64_t days = floor_div(ms, DAY_MS), rem = ms - days * DAY_MS, y;
    unsigned m, d;
    feel_civil_from_days(days, &y, &m, &d);
    snprintf(out, 40, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d, (int)(rem / 3600000),
             (int)(rem / 60000 % 60), (int)(rem / 1000 % 60));
}

void sched_format_local(int64_t ms, const char *zone, char out[40])
{
    int32_t off = 0;
    feel_zone_offset(zone, floor_div(ms, 1000), false, &off);
    int64_t local = ms + (int64_t)off * 1000, days = floor_div(local, DAY_MS), rem = local - days * DAY_MS, y;
    unsigned m, d;
    feel_civil_from_days(days, &y, &m, &d);
    int a = off < 0 ? -off : off;
    snprintf(out, 40, "%04lld-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", (long long)y, m, d, (int)(rem / 3600000),
             (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

/* ---- a schedule's fire times ---- */

bool sched_next_after(const sched_when_t *w, int64_t after_ms, int64_t *out_ms)
{
    int64_t from = after_ms;
    if (w->start_ms && from < w->start_ms - 1)
        from = w->start_ms - 1;
    int64_t t;
    switch (w->kind) {
    case SCHED_CRON: {
        sched_iter_t it;
        sched_iter_init(&it, &w->cron, w->zone, from);
        if (!sched_iter_next(&it, &t))
            return false;
        break;
    }
    case SCHED_INTERVAL: {
        if (from < w->anchor_ms)
            t = w->anchor_ms;
        else
            t = w->anchor_ms + (floor_div(from - w->anchor_ms, w->interval_ms) + 1) * w->interval_ms;
        break;
    }
    default:
        if (w->at_ms <= from)
            return false;
        t = w->at_ms;
    }
    if (w->end_ms && t > w->end_ms)
        return false;
    *out_ms = t;
    return true;
}
