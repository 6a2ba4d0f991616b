/*
 * feel_time.c — FEEL dates, times, date-times and both duration kinds: ISO 8601
 * parsing and printing, properties (year, hour, ...), arithmetic, and IANA zone ids
 * ("@Europe/Paris") read from the system's TZif files (/usr/share/zoneinfo).
 *
 * Representation (feel.h): a date is days since 1970-01-01 (proleptic Gregorian); a
 * time is nanoseconds of the day plus an optional offset or zone; a date-time is both.
 * A days-and-time duration is a decimal number of seconds; years-and-months is months.
 */
#include "feel_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000LL
#define DAY_NS (86400LL * NS)

/* Howard Hinnant's civil-date algorithms. */
int64_t feel_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void feel_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned mdays(int64_t y, unsigned m)
{
    static const unsigned d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

bool feel_valid_date(int64_t y, unsigned m, unsigned d)
{
    return y >= -999999999 && y <= 999999999 && m >= 1 && m <= 12 && d >= 1 && d <= mdays(y, m);
}

static const char *intern_zone(const char *z);

/* ---- zones ---- */
static int32_t be32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int zone_offset_in(const unsigned char *buf, size_t n, int64_t t, bool local, int32_t *off);

/* Offset of zone at utc_secs (or at local wall time when local). 0 ok, -1 unknown zone. */
int feel_zone_offset(const char *zone, int64_t t, bool local, int32_t *off)
{
    if (!strcmp(zone, "UTC") || !strcmp(zone, "Z") || !strcmp(zone, "Etc/UTC") || !strcmp(zone, "GMT")) {
        *off = 0;
        return 0;
    }
    for (const char *c = zone; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '/' || *c == '_' || *c == '-' || *c == '+'))
            return -1;
    if (strstr(zone, ".."))
        return -1;
    char path[256];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    /* on the heap: 64 KiB is too much for a small thread stack (HTTP workers) */
    unsigned char *buf = malloc(65536);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    int rc = zone_offset_in(buf, n, t, local, off);
    free(buf);
    return rc;
}

static int zone_offset_in(const unsigned char *buf, size_t n, int64_t t, bool local, int32_t *off)
{
    if (!buf || n < 44 || memcmp(buf, "TZif", 4))
        return -1;
    int32_t isutc = be32(buf + 20), isstd = be32(buf + 24), leapcnt = be32(buf + 28);
    int32_t timecnt = be32(buf + 32), typecnt = be32(buf + 36), charcnt = be32(buf + 40);
    (void)isutc; (void)isstd; (void)leapcnt; (void)charcnt;
    if (timecnt < 0 || typecnt <= 0 || 44 + (size_t)timecnt * 5 + (size_t)typecnt * 6 > n)
        return -1;
    const unsigned char *times = buf + 44, *idx = times + timecnt * 4, *types = idx + timecnt;
    int ti = 0;
    for (int i = 0; i < typecnt; i++)     /* default: first standard-time type */
        if (!types[i * 6 + 4]) {
            ti = i;
            break;
        }
    for (int32_t i = 0; i < timecnt; i++) {
        int64_t tt = be32(times + i * 4);
        int cand = idx[i] < typecnt ? idx[i] : 0;
        int64_t cmp = local ? t - be32(types + cand * 6) : t;
        if (tt <= cmp)
            ti = cand;
        else
            break;
    }
    /* beyond 2037 the v1 table ends: keep the last type */
    *off = be32(types + ti * 6);
    return 0;
}

/* ---- parsing ---- */
static bool num(const char **p, int min, int max, int64_t *out)
{
    int n = 0;
    int64_t v = 0;
    while (isdigit((unsigned char)**p) && n < max) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n < min || isdigit((unsigned char)**p))
        return false;
    *out = v;
    return true;
}

static bool parse_date_at(const char **pp, int64_t *days)
{
    const char *p = *pp;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    int64_t y, m, d;
    const char *ys = p;
    if (!num(&p, 4, 9, &y) || (p - ys > 4 && *ys == '0') || *p++ != '-' || !num(&p, 2, 2, &m) || *p++ != '-' || !num(&p, 2, 2, &d))
        return false;
    if (neg)
        y = -y;
    if (!feel_valid_date(y, (unsigned)m, (unsigned)d))
        return false;
    *days = feel_days_from_civil(y, (unsigned)m, (unsigned)d);
    *pp = p;
    return true;
}

/* hh:mm:ss(.f)? then Z | ±hh:mm | @zone */
static bool parse_time_at(const char **pp, feel_value_t *v)
{
    const char *p = *pp;
    int64_t h, mi, s, frac = 0;
    if (!num(&p, 2, 2, &h) || *p++ != ':' || !num(&p, 2, 2, &mi) || *p++ != ':' || !num(&p, 2, 2, &s))
        return false;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 9) {
                frac = frac * 10 + (*p - '0');
                n++;
            }
            p++;
        }
        if (n == 0)
            return false;
        while (n++ < 9)
            frac *= 10;
        frac -= frac % 1000000;     /* FEEL times keep milliseconds (TCK 0068) */
    }
    if (h > 23 || mi > 59 || s > 59) {
        if (!(h == 24 && mi == 0 && s == 0 && frac == 0))
            return false;
    }
    v->u.tm.nanos = ((h * 60 + mi) * 60 + s) * NS + frac;
    if (*p == 'Z' || *p == 'z') {
        v->u.tm.has_tz = true;
        v->u.tm.offset = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int64_t oh, om;
        if (!num(&p, 2, 2, &oh) || *p++ != ':' || !num(&p, 2, 2, &om) || oh > 18 || om > 59)
            return false;
        v->u.tm.has_tz = true;
        v->u.tm.offset = (int32_t)(sign * (oh * 3600 + om * 60));
        if (*p == ':') {   /* seconds in the offset */
            p++;
            int64_t os;
            if (!num(&p, 2, 2, &os))
                return false;
            v->u.tm.offset += (int32_t)(sign * os);
        }
    } else if (*p == '@') {
        p++;
        const char *z = p;
        while (*p && *p != ' ')
            p++;
        if (p == z)
            return false;
        char zone[128];
        if (p - z >= (ptrdiff_t)sizeof(zone))
            return false;   /* no zone id is that long: never look up a cut one */
        snprintf(zone, sizeof(zone), "%.*s", (int)(p - z), z);
        int32_t off;
        if (feel_zone_offset(zone, 0, false, &off) != 0)
            return false;
        v->u.tm.has_tz = true;
        v->u.tm.zone = intern_zone(zone);
        if (!v->u.tm.zone)
            return false;
    }
    *pp = p;
    return true;
}

/* Zone names are interned in a process-wide table that grows with the zones in use
 * (bounded by the zone set: names are checked to exist before interning; there are
 * ~600), so values never own them. Each name is its own allocation and never moves. */
static const char *intern_zone(const char *z)
{
    static char **table;
    static size_t n, cap;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    const char *r = NULL;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n && !r; i++)
        if (!strcmp(table[i], z))
            r = table[i];
    if (!r && n == cap) {
        size_t nc = cap ? cap * 2 : 64;
        char **nt = realloc(table, nc * sizeof(*nt));
        if (nt) {
            table = nt;
            cap = nc;
        }
    }
    if (!r && n < cap && (table[n] = strdup(z)) != NULL)
        r = table[n++];
    pthread_mutex_unlock(&mu);
    return r;
}

static void fix_zone(feel_value_t *v, int64_t days)
{
    if (!v->u.tm.zone)
        return;
    int32_t off = 0;
    int64_t local = days * 86400 + v->u.tm.nanos / NS;
    feel_zone_offset(v->u.tm.zone, local, true, &off);
    v->u.tm.offset = off;
}

feel_value_t *feel_parse_date(feel_eval_t *ev, const char *s)
{
    const char *p = s;
    int64_t days;
    if (!parse_date_at(&p, &days) || *p)
        return feel_null();
    feel_value_t *v = feel_alloc_value(ev, FEEL_DATE);
    if (!v)
        return feel_null();
    v->u.tm.days = days;
    return v;
}

feel_value_t *feel_parse_time(feel_eval_t *ev, const char *s)
{
    feel_value_t tmp = { .t = FEEL_TIME };
    const char *p = s;
    if (!parse_time_at(&p, &tmp) || *p || tmp.u.tm.nanos >= DAY_NS)
        return feel_null();
    fix_zone(&tmp, 0);
    feel_value_t *v = feel_alloc_value(ev, FEEL_TIME);
    if (!v)
        return feel_null();
    *v = tmp;
    return v;
}

feel_value_t *feel_parse_dt(feel_eval_t *ev, const char *s)
{
    feel_value_t tmp = { .t = FEEL_DT };
    const char *p = s;
    int64_t days;
    if (!parse_date_at(&p, &days))
        return feel_null();
    if (*p == 'T') {
        p++;
        if (!parse_time_at(&p, &tmp) || *p)
            return feel_null();
        if (tmp.u.tm.nanos == DAY_NS) {   /* 24:00:00 is the next midnight */
            tmp.u.tm.nanos = 0;
            days++;
        }
    } else if (*p) {
        return feel_null();
    }
    tmp.u.tm.days = days;
    fix_zone(&tmp, days);
    feel_value_t *v = feel_alloc_value(ev, FEEL_DT);
    if (!v)
        return feel_null();
    *v = tmp;
    return v;
}

/* ---- durations: both kinds stay within ±(2^63 - 1) of their unit ----
 * so that negation, printing (int64 fields) and date arithmetic (in __int128) cannot
 * overflow; a result beyond that is null with an error, never a wrapped value. */
#define DURATION_RANGE "durations are limited to +/-9223372036854775807 months or seconds"

static bool dtd_in_range(feel_dec_t secs)
{
    feel_dec_t lim = feel_dec_from_int(INT64_MAX), neg = lim;
    neg.c = -neg.c;
    return feel_dec_cmp(secs, lim) <= 0 && feel_dec_cmp(secs, neg) >= 0;
}

static feel_value_t *dtd_secs(feel_eval_t *ev, feel_dec_t secs)
{
    if (!dtd_in_range(secs))
        return feel_err(ev, "days and time duration overflow (%s)", DURATION_RANGE);
    feel_value_t *v = feel_alloc_value(ev, FEEL_DTD);
    if (!v)
        return feel_null();
    v->u.n = secs;
    return v;
}

static feel_value_t *ymd(feel_eval_t *ev, int64_t months)
{
    feel_value_t *v = feel_alloc_value(ev, FEEL_YMD);
    if (!v)
        return feel_null();
    v->u.months = months;
    return v;
}

static feel_value_t *ymd_checked(feel_eval_t *ev, __int128 months)
{
    if (months > INT64_MAX || months < -INT64_MAX)
        return feel_err(ev, "years and months duration overflow (%s)", DURATION_RANGE);
    return ymd(ev, (int64_t)months);
}

feel_value_t *feel_parse_duration(feel_eval_t *ev, const char *s)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (*p++ != 'P')
        return feel_null();
    __int128 y = 0, mo = 0, d = 0, h = 0, mi = 0;   /* up to 30 digits each: no overflow */
    feel_dec_t secs = { 0, 0 };
    bool ym = false, dt = false, any = false, in_t = false;
    int last = 0;   /* order of designators */
    while (*p) {
        if (*p == 'T') {
            if (in_t)
                return feel_null();
            in_t = true;
            p++;
            if (!*p)
                return feel_null();
            continue;
        }
        const char *st = p;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (p == st || p - st > 30)
            return feel_null();
        char ds[40];
        snprintf(ds, sizeof(ds), "%.*s", (int)(p - st), st);
        char u = *p++;
        int order;
        if (!in_t)
            order = u == 'Y' ? 1 : u == 'M' ? 2 : u == 'D' ? 3 : 0;
        else
            order = u == 'H' ? 4 : u == 'M' ? 5 : u == 'S' ? 6 : 0;
        if (!order || order <= last)
            return feel_null();
        last = order;
        if (order != 6 && strchr(ds, '.'))
            return feel_null();
        __int128 iv = 0;
        for (const char *c = ds; order != 6 && *c; c++)
            iv = iv * 10 + (*c - '0');
        switch (order) {
        case 1: y = iv; ym = true; break;
        case 2: mo = iv; ym = true; break;
        case 3: d = iv; dt = true; break;
        case 4: h = iv; dt = true; break;
        case 5: mi = iv; dt = true; break;
        case 6:
            if (ds[strlen(ds) - 1] == '.')
                ds[strlen(ds) - 1] = 0;     /* "PT0.S": an empty fraction */
            if (!feel_dec_parse(ds, strlen(ds), &secs))
                return feel_null();
            dt = true;
            break;
        }
        any = true;
    }
    if (!any)
        return feel_null();
    if (ym && !dt) {
        __int128 months = y * 12 + mo;
        if (months > INT64_MAX)
            return feel_err(ev, "duration \"%.40s\" is out of range (%s)", s, DURATION_RANGE);
        return ymd(ev, (int64_t)months * (neg ? -1 : 1));
    }
    if (ym && dt)
        return feel_null();
    __int128 whole = ((d * 24 + h) * 60 + mi) * 60;
    feel_dec_t tot;
    if (whole > INT64_MAX || !feel_dec_add(feel_dec_from_int((int64_t)whole), secs, &tot) || !dtd_in_range(tot))
        return feel_err(ev, "duration \"%.40s\" is out of range (%s)", s, DURATION_RANGE);
    if (neg)
        tot.c = -tot.c;
    return dtd_secs(ev, tot);
}

feel_value_t *feel_temporal_parse(feel_eval_t *ev, feel_type_t t, const char *s)
{
    switch (t) {
    case FEEL_DATE: return feel_parse_date(ev, s);
    case FEEL_TIME: return feel_parse_time(ev, s);
    case FEEL_DT: return feel_parse_dt(ev, s);
    default: return feel_parse_duration(ev, s);
    }
}

bool feel_dt_instant(const feel_value_t *v, __int128 *out)
{
    __int128 x = v->u.tm.nanos;
    if (v->t == FEEL_DT)
        x += (__int128)v->u.tm.days * DAY_NS;
    if (v->u.tm.has_tz)
        x -= (__int128)v->u.tm.offset * NS;
    *out = x;
    return true;
}

/* ---- printing ---- */
static int fmt_time(char *buf, size_t len, const feel_value_t *v)
{
    int64_t ns = v->u.tm.nanos, s = ns / NS, f = ns % NS;
    int n = snprintf(buf, len, "%02lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                     (long long)(s % 60));
    if (f) {
        char fr[16];
        snprintf(fr, sizeof(fr), "%09lld", (long long)f);
        for (int i = 8; i > 0 && fr[i] == '0'; i--)
            fr[i] = 0;
        n += snprintf(buf + n, len - (size_t)n, ".%s", fr);
    }
    if (v->u.tm.zone)
        n += snprintf(buf + n, len - (size_t)n, "@%s", v->u.tm.zone);
    else if (v->u.tm.has_tz && v->u.tm.offset == 0)
        n += snprintf(buf + n, len - (size_t)n, "Z");
    else if (v->u.tm.has_tz) {
        int32_t o = v->u.tm.offset < 0 ? -v->u.tm.offset : v->u.tm.offset;
        n += snprintf(buf + n, len - (size_t)n, "%c%02d:%02d", v->u.tm.offset < 0 ? '-' : '+', o / 3600,
                      o / 60 % 60);
        if (o % 60)
            n += snprintf(buf + n, len - (size_t)n, ":%02d", o % 60);
    }
    return n;
}

static int fmt_date(char *buf, size_t len, int64_t days)
{
    int64_t y;
    unsigned m, d;
    feel_civil_from_days(days, &y, &m, &d);
    if (y < 0)
        return snprintf(buf, len, "-%04lld-%02u-%02u", (long long)-y, m, d);
    return snprintf(buf, len, "%04lld-%02u-%02u", (long long)y, m, d);
}

void feel_format_temporal(const feel_value_t *v, char *buf, size_t len)
{
    switch (v->t) {
    case FEEL_DATE: fmt_date(buf, len, v->u.tm.days); break;
    case FEEL_TIME: fmt_time(buf, len, v); break;
    case FEEL_DT: {
        int n = fmt_date(buf, len, v->u.tm.days);
        buf[n++] = 'T';
        fmt_time(buf + n, len - (size_t)n, v);
        break;
    }
    case FEEL_YMD: {
        int64_t m = v->u.months, a = m < 0 ? -m : m;
        int n = snprintf(buf, len, "%sP", m < 0 ? "-" : "");
        if (a / 12)
            n += snprintf(buf + n, len - (size_t)n, "%lldY", (long long)(a / 12));
        if (a % 12 || a == 0)
            snprintf(buf + n, len - (size_t)n, "%lldM", (long long)(a % 12));
        break;
    }
    case FEEL_DTD: {
        feel_dec_t s = v->u.n;
        bool neg = s.c < 0;
        if (neg)
            s.c = -s.c;
        feel_dec_t whole = feel_dec_round(s, 0, 'd'), frac;
        feel_dec_sub(s, whole, &frac);
        int64_t w = 0;
        feel_dec_to_int64(whole, &w);
        int n = snprintf(buf, len, "%sP", neg ? "-" : "");
        int64_t d = w / 86400, h = w / 3600 % 24, mi = w / 60 % 60, sec = w % 60;
        if (d)
            n += snprintf(buf + n, len - (size_t)n, "%lldD", (long long)d);
        if (h || mi || sec || frac.c || !d)
            n += snprintf(buf + n, len - (size_t)n, "T");
        if (h)
            n += snprintf(buf + n, len - (size_t)n, "%lldH", (long long)h);
        if (mi)
            n += snprintf(buf + n, len - (size_t)n, "%lldM", (long long)mi);
        if (sec || frac.c || (!d && !h && !mi)) {
            char fb[64] = "";
            if (frac.c) {
                feel_dec_format(frac, fb, sizeof(fb));
                n += snprintf(buf + n, len - (size_t)n, "%lld%sS", (long long)sec, fb + 1);
            } else {
                n += snprintf(buf + n, len - (size_t)n, "%lldS", (long long)sec);
            }
        }
        break;
    }
    default: snprintf(buf, len, "?"); break;
    }
}

/* ---- arithmetic ---- */
static feel_value_t *mk_tm(feel_eval_t *ev, feel_type_t t, const feel_value_t *like, int64_t days, int64_t nanos)
{
    feel_value_t *v = feel_alloc_value(ev, t);
    if (!v)
        return feel_null();
    if (like && like->t != FEEL_DATE) {
        v->u.tm.has_tz = like->u.tm.has_tz;
        v->u.tm.offset = like->u.tm.offset;
        v->u.tm.zone = like->u.tm.zone;
    }
    v->u.tm.days = days;
    v->u.tm.nanos = nanos;
    if (days < feel_days_from_civil(-999999999, 1, 1) || days > feel_days_from_civil(999999999, 12, 31))
        return feel_err(ev, "date out of range (years -999999999 to 999999999)");
    if (v->u.tm.zone)
        fix_zone(v, days);
    return v;
}

static feel_value_t *add_months(feel_eval_t *ev, const feel_value_t *a, int64_t months)
{
    int64_t y;
    unsigned m, d;
    feel_civil_from_days(a->u.tm.days, &y, &m, &d);
    __int128 tot = (__int128)y * 12 + (m - 1) + months;
    __int128 ny = tot >= 0 ? tot / 12 : -((-tot + 11) / 12);
    unsigned nm = (unsigned)(tot - ny * 12) + 1;
    if (ny < -999999999 || ny > 999999999)
        return feel_err(ev, "date out of range (years -999999999 to 999999999)");
    if (d > mdays((int64_t)ny, nm))
        d = mdays((int64_t)ny, nm);
    return mk_tm(ev, a->t, a, feel_days_from_civil((int64_t)ny, nm, d), a->u.tm.nanos);
}

static bool dec_to_ns(feel_dec_t secs, __int128 *ns)
{
    feel_dec_t n;
    if (!dtd_in_range(secs) || !feel_dec_mul(secs, feel_dec_from_int(NS), &n))
        return false;   /* in range: at most ~9.3e27 ns, far inside __int128 */
    n = feel_dec_round(n, 0, 'f');
    __int128 c = n.c;
    for (int i = 0; i < n.e; i++)
        c *= 10;
    *ns = c;
    return true;
}

static feel_value_t *dtd(feel_eval_t *ev, __int128 ns)
{
    feel_dec_t secs = { ns, -9 };
    feel_dec_add(secs, feel_dec_from_int(0), &secs);
    return dtd_secs(ev, secs);
}

static feel_value_t *shift(feel_eval_t *ev, const feel_value_t *a, __int128 ns)
{
    if (a->t == FEEL_TIME) {
        __int128 x = ((__int128)a->u.tm.nanos + ns) % DAY_NS;
        if (x < 0)
            x += DAY_NS;
        return mk_tm(ev, FEEL_TIME, a, 0, (int64_t)x);
    }
    __int128 x = (__int128)a->u.tm.days * DAY_NS + a->u.tm.nanos + ns;
    __int128 days = x / DAY_NS, rem = x % DAY_NS;
    if (rem < 0) {
        rem += DAY_NS;
        days--;
    }
    if (a->t == FEEL_DATE)
        return mk_tm(ev, FEEL_DATE, a, (int64_t)days, 0);
    return mk_tm(ev, FEEL_DT, a, (int64_t)days, (int64_t)rem);
}

static feel_value_t *as_dt(feel_eval_t *ev, const feel_value_t *d)
{
    if (d->t != FEEL_DATE)
        return (feel_value_t *)d;
    feel_value_t *v = feel_alloc_value(ev, FEEL_DT);
    if (!v)
        return feel_null();
    v->u.tm.days = d->u.tm.days;
    v->u.tm.has_tz = true;      /* a date is midnight UTC when subtracted (TCK 0100) */
    return v;
}

feel_value_t *feel_temporal_arith(feel_eval_t *ev, char op, const feel_value_t *a, const feel_value_t *b)
{
    feel_type_t ta = a->t, tb = b->t;
    bool pa = ta == FEEL_DATE || ta == FEEL_DT || ta == FEEL_TIME;
    bool pb = tb == FEEL_DATE || tb == FEEL_DT || tb == FEEL_TIME;
    if (op == '+' && !pa && pb) {   /* duration + point: commute */
        const feel_value_t *t = a;
        a = b;
        b = t;
        ta = a->t;
        tb = b->t;
        pa = true;
        pb = false;
    }
    if (pa && pb && op == '-') {
        if ((ta == FEEL_TIME) != (tb == FEEL_TIME))
            return feel_null();
        const feel_value_t *x = as_dt(ev, a), *y = as_dt(ev, b);
        if (x->t == FEEL_NULL || y->t == FEEL_NULL)
            return feel_null();
        if (x->u.tm.has_tz != y->u.tm.has_tz)
            return feel_null();
        __int128 ix, iy;
        feel_dt_instant(x, &ix);
        feel_dt_instant(y, &iy);
        return dtd(ev, ix - iy);
    }
    if (pa && (op == '+' || op == '-') && tb == FEEL_YMD) {
        if (ta == FEEL_TIME)
            return feel_null();
        return add_months(ev, a, op == '+' ? b->u.months : -b->u.months);
    }
    if (pa && (op == '+' || op == '-') && tb == FEEL_DTD) {
        __int128 ns;
        if (!dec_to_ns(b->u.n, &ns))
            return feel_err(ev, "days and time duration overflow (%s)", DURATION_RANGE);
        return shift(ev, a, op == '+' ? ns : -ns);
    }
    if (ta == tb && (ta == FEEL_YMD || ta == FEEL_DTD) && (op == '+' || op == '-')) {
        if (ta == FEEL_YMD)
            return ymd_checked(ev, op == '+' ? (__int128)a->u.months + b->u.months
                                             : (__int128)a->u.months - b->u.months);
        feel_dec_t r;
        if (!(op == '+' ? feel_dec_add(a->u.n, b->u.n, &r) : feel_dec_sub(a->u.n, b->u.n, &r)))
            return feel_err(ev, "days and time duration overflow (%s)", DURATION_RANGE);
        return dtd_secs(ev, r);
    }
    /* duration * number, number * duration, duration / number, duration / duration */
    const feel_value_t *d = NULL, *n = NULL;
    if ((ta == FEEL_YMD || ta == FEEL_DTD) && tb == FEEL_NUM && (op == '*' || op == '/')) {
        d = a;
        n = b;
    } else if ((tb == FEEL_YMD || tb == FEEL_DTD) && ta == FEEL_NUM && op == '*') {
        d = b;
        n = a;
    }
    if (d) {
        feel_dec_t x = d->t == FEEL_YMD ? feel_dec_from_int(d->u.months) : d->u.n, r;
        if (op == '/' && n->u.n.c == 0)
            return feel_err(ev, "division of a duration by zero");
        bool ok = op == '*' ? feel_dec_mul(x, n->u.n, &r) : feel_dec_div(x, n->u.n, &r);
        if (!ok)
            return feel_err(ev, "%s overflow (%s)", feel_type_name(d->t), DURATION_RANGE);
        if (d->t == FEEL_DTD)
            return dtd_secs(ev, r);
        int64_t m;
        if (!feel_dec_to_int64(feel_dec_round(r, 0, 'd'), &m) || m == INT64_MIN)
            return feel_err(ev, "years and months duration overflow (%s)", DURATION_RANGE);
        return ymd(ev, m);
    }
    if (ta == tb && (ta == FEEL_YMD || ta == FEEL_DTD) && op == '/') {
        feel_dec_t x = ta == FEEL_YMD ? feel_dec_from_int(a->u.months) : a->u.n;
        feel_dec_t y = ta == FEEL_YMD ? feel_dec_from_int(b->u.months) : b->u.n, r;
        if (y.c == 0)
            return feel_err(ev, "division by a zero duration");
        if (!feel_dec_div(x, y, &r))
            return feel_null();
        return feel_num(ev, r);
    }
    return feel_null();
}

feel_value_t *feel_temporal_prop(feel_eval_t *ev, const feel_value_t *v, const char *name, bool *found)
{
    *found = true;
    int64_t y = 0;
    unsigned m = 0, d = 0;
    if (v->t == FEEL_DATE || v->t == FEEL_DT) {
        feel_civil_from_days(v->u.tm.days, &y, &m, &d);
        if (!strcmp(name, "year")) return feel_num_int(ev, y);
        if (!strcmp(name, "month")) return feel_num_int(ev, m);
        if (!strcmp(name, "day")) return feel_num_int(ev, d);
        if (!strcmp(name, "weekday")) {
            int64_t wd = (v->u.tm.days % 7 + 7 + 3) % 7;  /* 1970-01-01 was a Thursday */
            return feel_num_int(ev, wd + 1);
        }
    }
    if (v->t == FEEL_TIME || v->t == FEEL_DT) {
        int64_t s = v->u.tm.nanos / NS;
        if (!strcmp(name, "hour")) return feel_num_int(ev, s / 3600);
        if (!strcmp(name, "minute")) return feel_num_int(ev, s / 60 % 60);
        if (!strcmp(name, "second")) {
            feel_dec_t r = { v->u.tm.nanos % (60 * NS), -9 };
            feel_dec_add(r, feel_dec_from_int(0), &r);
            return feel_num(ev, r);
        }
        if (!strcmp(name, "time offset")) {
            if (!v->u.tm.has_tz || v->u.tm.zone)
                return feel_null();
            feel_value_t *o = feel_alloc_value(ev, FEEL_DTD);
            if (!o)
                return feel_null();
            o->u.n = feel_dec_from_int(v->u.tm.offset);
            return o;
        }
        if (!strcmp(name, "timezone"))
            return v->u.tm.zone ? feel_cstr(ev, v->u.tm.zone) : feel_null();
    }
    if (v->t == FEEL_YMD) {
        if (!strcmp(name, "years")) return feel_num_int(ev, v->u.months / 12);
        if (!strcmp(name, "months")) return feel_num_int(ev, v->u.months % 12);
    }
    if (v->t == FEEL_DTD) {
        feel_dec_t w = feel_dec_round(v->u.n, 0, 'd');
        int64_t s = 0;
        feel_dec_to_int64(w, &s);
        if (!strcmp(name, "days")) return feel_num_int(ev, s / 86400);
        if (!strcmp(name, "hours")) return feel_num_int(ev, s / 3600 % 24);
        if (!strcmp(name, "minutes")) return feel_num_int(ev, s / 60 % 60);
        if (!strcmp(name, "seconds")) return feel_num_int(ev, s % 60);
    }
    *found = false;
    return feel_null();
}
