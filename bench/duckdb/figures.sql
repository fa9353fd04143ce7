-- tenure's seven core reports, computed by DuckDB straight from the files tenure imports
-- (events.ndjson and the CSV files of `tenure sim`), the way an analyst without tenure would:
-- run from the directory that holds them (bench/duckdb/figures.py does). The definitions are
-- docs/figures.md's wherever SQL states them plainly; where tenure's are not plain SQL the query
-- simplifies, and says so where it does. BENCHMARKS.md lists what is and is not computed.
--
-- Each report ends in a SELECT whose rows figures.py writes out, so that DuckDB produces every
-- row a report shows, as the tenure CLI does.

SET TimeZone = 'UTC';

-- ---------------------------------------------------------------- the raw files
CREATE TEMP TABLE subs AS
SELECT account_id, effective_at::TIMESTAMPTZ::TIMESTAMP AS ts,
       round(mrr * 100)::BIGINT AS mrr, line
FROM (SELECT *, row_number() OVER () AS line
      FROM read_csv('subscriptions.csv', header = true, all_varchar = false,
                    types = {'account_id': 'VARCHAR', 'effective_at': 'VARCHAR', 'mrr': 'DECIMAL(18,2)'}));

CREATE TEMP TABLE deals AS
SELECT deal_id, account_id, kind, status,
       created_at::DATE::TIMESTAMP AS created_at, closed_at::DATE::TIMESTAMP AS closed_at
FROM read_csv('deals.csv', header = true,
              types = {'created_at': 'VARCHAR', 'closed_at': 'VARCHAR'});

CREATE TEMP TABLE spend AS
SELECT date::DATE::TIMESTAMP AS ts, channel, source, campaign, round(cost * 100)::BIGINT AS cost
FROM read_csv('spend.csv', header = true,
              types = {'date': 'VARCHAR', 'cost': 'DECIMAL(18,2)'});

CREATE TEMP TABLE offline AS
SELECT occurred_at::TIMESTAMPTZ::TIMESTAMP AS ts, nullif(account_id, '') AS account_id,
       nullif(user_id, '') AS user_id, lower(trim(nullif(email, ''))) AS email,
       nullif(channel, '') AS channel, lower(nullif(kind, '')) AS kind
FROM read_csv('touchpoints.csv', header = true, all_varchar = true);

CREATE TEMP TABLE accounts AS
SELECT account_id, created_at::DATE::TIMESTAMP AS created_at
FROM read_csv('accounts.csv', header = true, all_varchar = true);

CREATE TEMP TABLE ev AS
SELECT type, userId AS user_id, anonymousId AS anon, previousId AS previous_id,
       coalesce(groupId, context.groupId) AS account_id, event,
       "timestamp"::TIMESTAMPTZ::TIMESTAMP AS ts,
       context.page.url AS url, context.page.referrer AS referrer,
       lower(trim(traits.email)) AS email
FROM read_ndjson('events.ndjson', columns = {
    'type': 'VARCHAR', 'userId': 'VARCHAR', 'anonymousId': 'VARCHAR', 'previousId': 'VARCHAR',
    'groupId': 'VARCHAR', 'event': 'VARCHAR', 'timestamp': 'VARCHAR',
    'context': 'STRUCT(groupId VARCHAR, page STRUCT(url VARCHAR, referrer VARCHAR))',
    'traits': 'STRUCT(email VARCHAR)'});

-- The report instant: the end of the UTC day of the latest fact (docs/figures.md, Time).
CREATE TEMP TABLE instant AS
SELECT date_trunc('day', max(ts)) + INTERVAL 1 DAY - INTERVAL 1 MILLISECOND AS as_of
FROM (SELECT max(ts) AS ts FROM ev UNION ALL SELECT max(ts) FROM subs
      UNION ALL SELECT max(greatest(created_at, coalesce(closed_at, created_at))) FROM deals
      UNION ALL SELECT max(ts) FROM spend UNION ALL SELECT max(ts) FROM offline
      UNION ALL SELECT max(created_at) FROM accounts);

-- ---------------------------------------------------------------- revenue
-- Every change of an account's MRR is one movement (new, reactivation, churn, expansion,
-- contraction); a row that leaves MRR unchanged is none.
CREATE TEMP TABLE moves AS
WITH ordered AS (
    SELECT account_id, ts, mrr,
           coalesce(lag(mrr) OVER w, 0) AS before,
           coalesce(max(mrr) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) > 0
               AS paid_before
    FROM subs, instant WHERE ts <= as_of
    WINDOW w AS (PARTITION BY account_id ORDER BY ts, line))
SELECT account_id, ts, mrr - before AS amount,
       CASE WHEN before = 0 AND NOT paid_before THEN 'new'
            WHEN before = 0 THEN 'reactivation'
            WHEN mrr = 0 THEN 'churn'
            WHEN mrr > before THEN 'expansion'
            ELSE 'contraction' END AS kind
FROM ordered WHERE mrr <> before;

-- Each customer: conversion (first MRR above 0, or an earlier won new-business deal), first
-- MRR, first churn after paying, MRR now, realized revenue (MRR integrated to as_of).
CREATE TEMP TABLE customers AS
WITH paid AS (
    SELECT account_id, min(ts) FILTER (kind = 'new') AS first_paid,
           arg_min(amount, ts) FILTER (kind = 'new') AS first_mrr,
           min(ts) FILTER (kind = 'churn') AS churned_at
    FROM moves GROUP BY account_id),
won AS (
    SELECT account_id, min(closed_at) AS won_at FROM deals, instant
    WHERE kind = 'new_business' AND status = 'won' AND closed_at <= as_of GROUP BY account_id),
now AS (
    SELECT account_id, arg_max(mrr, (ts, line)) AS mrr_now FROM subs, instant
    WHERE ts <= as_of GROUP BY account_id),
spans AS (
    SELECT account_id, mrr * epoch_ms(coalesce(lead(ts) OVER w, as_of) - ts) AS mrr_ms
    FROM subs, instant WHERE ts <= as_of
    WINDOW w AS (PARTITION BY account_id ORDER BY ts, line)),
realized AS (
    SELECT account_id, sum(mrr_ms) / 86400000.0 * 12 / 365.25 AS realized
    FROM spans GROUP BY account_id)
SELECT account_id, least(first_paid, won_at) AS converted_at, first_paid, first_mrr, churned_at,
       coalesce(mrr_now, 0) AS mrr_now, coalesce(r.realized, 0) AS realized
FROM paid FULL JOIN won USING (account_id) LEFT JOIN now USING (account_id)
LEFT JOIN realized r USING (account_id)
WHERE least(first_paid, won_at) IS NOT NULL;

-- ---------------------------------------------------------------- journeys (first touch)
-- Identity, simplified: an anonymous id is the person of the smallest user id it was sent
-- with (or aliased to); tenure's union-find over chains of ids is not plain SQL.
CREATE TEMP TABLE person_of_anon AS
SELECT anon, min(user_id) AS user_id FROM (
    SELECT anon, user_id FROM ev WHERE anon IS NOT NULL AND user_id IS NOT NULL
    UNION ALL SELECT previous_id, user_id FROM ev WHERE type = 'alias')
GROUP BY anon;

CREATE TEMP TABLE account_of_user AS
SELECT DISTINCT user_id, account_id FROM ev
WHERE user_id IS NOT NULL AND account_id IS NOT NULL;

CREATE TEMP TABLE user_of_email AS
SELECT email, min(user_id) AS user_id FROM ev
WHERE type = 'identify' AND email IS NOT NULL GROUP BY email;

-- Sessions, simplified: a page with marketing information (UTMs, a click id, an external
-- referrer) is a touch unless it reloads the previous page; a page without any is a `direct`
-- touch after 30 minutes without a page. Channels by the default rules of docs/figures.md.
CREATE TEMP TABLE touches AS
WITH pages AS (
    SELECT coalesce(e.user_id, p.user_id, 'anon:' || e.anon) AS who, e.ts, e.url, e.referrer,
           regexp_extract(e.url, '[?&]utm_source=([^&#]*)', 1) AS source,
           regexp_extract(e.url, '[?&]utm_medium=([^&#]*)', 1) AS medium,
           regexp_extract(e.url, '[?&](gclid|gbraid|wbraid|msclkid|fbclid|li_fat_id)=', 1)
               AS click_id,
           regexp_extract(e.referrer, '^https?://([^/:?#]+)', 1) AS ref_host,
           regexp_extract(regexp_extract(e.url, '^https?://([^/:?#]+)', 1),
                          '([^.]+\.[^.]+)$', 1) AS site
    FROM ev e LEFT JOIN person_of_anon p USING (anon)
    WHERE e.type = 'page'),
marked AS (
    SELECT *, CASE WHEN ref_host = '' OR ref_host = site OR ref_host LIKE '%.' || site
                   THEN '' ELSE ref_host END AS external,
           lag(ts) OVER w AS prev_at, lag(url) OVER w AS prev_url,
           lag(referrer) OVER w AS prev_referrer
    FROM pages WINDOW w AS (PARTITION BY who ORDER BY ts)),
starts AS (
    SELECT * FROM marked
    WHERE CASE WHEN source <> '' OR medium <> '' OR click_id <> '' OR external <> ''
               THEN NOT coalesce(url = prev_url AND referrer IS NOT DISTINCT FROM prev_referrer
                                 AND ts - prev_at <= INTERVAL 30 MINUTE, false)
               ELSE prev_at IS NULL OR ts - prev_at > INTERVAL 30 MINUTE END),
domain AS (
    SELECT *, lower(medium) AS m, lower(source) AS s,
           regexp_extract(external, '([^.]+)\.[^.]+$', 1) AS ref_name
    FROM starts)
SELECT who, ts, NULL::VARCHAR AS account_id,
    CASE WHEN click_id IN ('gclid', 'gbraid', 'wbraid', 'msclkid')
              OR (m IN ('cpc', 'ppc', 'paid', 'paidsearch', 'paid_search', 'sem')
                  AND s IN ('google', 'bing', 'yahoo', 'duckduckgo', 'baidu', 'yandex', 'ecosia'))
             THEN 'paid_search'
         WHEN click_id = 'li_fat_id'
              OR (click_id = 'fbclid' AND m NOT IN ('social', 'organic', 'organic_social'))
              OR (m IN ('cpc', 'ppc', 'paid', 'paidsearch', 'paid_search', 'sem', 'paid_social',
                        'paidsocial', 'social_paid')
                  AND s IN ('facebook', 'instagram', 'meta', 'fb', 'ig', 'linkedin', 'twitter',
                            'x', 'reddit', 'youtube', 'tiktok', 'pinterest'))
             THEN 'paid_social'
         WHEN m IN ('display', 'banner', 'cpm') THEN 'display'
         WHEN m IN ('email', 'e-mail', 'newsletter') THEN 'email'
         WHEN m = 'affiliate' THEN 'affiliate'
         WHEN ref_name IN ('google', 'bing', 'yahoo', 'duckduckgo', 'baidu', 'yandex', 'ecosia')
              OR (m = 'organic' AND s IN ('google', 'bing', 'yahoo', 'duckduckgo', 'baidu',
                                          'yandex', 'ecosia'))
             THEN 'organic_search'
         WHEN ref_name IN ('facebook', 'instagram', 'linkedin', 'twitter', 'x', 'reddit',
                           'youtube', 'tiktok', 'pinterest', 't', 'lnkd')
              OR m IN ('social', 'organic_social')
             THEN 'organic_social'
         WHEN external <> '' OR m = 'referral' THEN 'referral'
         WHEN source <> '' OR medium <> '' THEN 'other'
         ELSE 'direct' END AS channel
FROM domain
UNION ALL
-- Offline rows: their own channel, else by kind; owned by the named account, the user id, or
-- whoever gave the e-mail.
SELECT coalesce(o.user_id, u.user_id, 'email:' || o.email), o.ts, o.account_id,
       coalesce(o.channel, CASE o.kind WHEN 'event' THEN 'events' WHEN 'webinar' THEN 'events'
                                       WHEN 'outbound' THEN 'outbound' WHEN 'partner' THEN 'partner'
                                       ELSE 'other' END)
FROM offline o LEFT JOIN user_of_email u USING (email);

-- A customer's converting journey: its people's touches (and rows naming it) strictly before
-- conversion and within 180 days of it; with none, one `direct` touch at conversion.
CREATE TEMP TABLE journeys AS
WITH linked AS (
    SELECT c.account_id, t.ts, t.channel, c.converted_at
    FROM customers c JOIN account_of_user a USING (account_id) JOIN touches t ON t.who = a.user_id
    UNION
    SELECT c.account_id, t.ts, t.channel, c.converted_at
    FROM customers c JOIN touches t USING (account_id)),
window_ AS (
    SELECT * FROM linked
    WHERE ts < converted_at AND ts >= converted_at - INTERVAL 180 DAY
    UNION ALL
    SELECT account_id, converted_at, 'direct', converted_at FROM customers c
    WHERE NOT EXISTS (SELECT 1 FROM linked l WHERE l.account_id = c.account_id
                      AND l.ts < c.converted_at AND l.ts >= c.converted_at - INTERVAL 180 DAY))
SELECT account_id, ts, channel, converted_at,
       row_number() OVER (PARTITION BY account_id ORDER BY ts, channel) AS pos,
       count(*) OVER (PARTITION BY account_id) AS n
FROM window_;

CREATE TEMP TABLE first_touch AS
SELECT account_id, channel FROM journeys WHERE pos = 1;

-- ---------------------------------------------------------------- survival
-- Kaplan–Meier by group (all customers, and by first-touch channel for unit economics).
CREATE TEMP TABLE lifetimes AS
SELECT c.account_id, f.channel,
       epoch_ms(coalesce(c.churned_at, as_of) - c.converted_at) / 86400000.0 AS days,
       (c.churned_at IS NOT NULL)::INT AS churned
FROM customers c JOIN first_touch f USING (account_id), instant;

CREATE TEMP TABLE km AS
WITH g AS (
    SELECT 'all' AS grp, days, churned FROM lifetimes
    UNION ALL SELECT channel, days, churned FROM lifetimes),
steps AS (
    SELECT grp, days AS t, sum(churned) AS d, count(*) AS leaving FROM g GROUP BY grp, days),
risk AS (
    SELECT *, sum(leaving) OVER (PARTITION BY grp ORDER BY t DESC) AS at_risk FROM steps)
SELECT grp, t, d, at_risk,
       exp(sum(ln(greatest(1 - d / at_risk, 1e-300))) OVER (PARTITION BY grp ORDER BY t))
           AS survival,
       sum(d / (at_risk * greatest(at_risk - d, 1))) OVER (PARTITION BY grp ORDER BY t)
           AS greenwood
FROM risk;

-- RMST over the 60-month horizon, in days.
CREATE TEMP TABLE rmst AS
WITH curve AS (
    SELECT grp, 0.0 AS t, 1.0 AS survival FROM (SELECT DISTINCT grp FROM km)
    UNION ALL SELECT grp, t, survival FROM km WHERE d > 0),
areas AS (
    SELECT grp, survival * (least(coalesce(lead(t) OVER w, 1826.25), 1826.25) - t) AS area, t
    FROM curve WINDOW w AS (PARTITION BY grp ORDER BY t))
SELECT grp, sum(area) FILTER (t < 1826.25) AS rmst_days FROM areas GROUP BY grp;

-- ---------------------------------------------------------------- the reports
-- status: what the files hold by kind, the identities and touchpoints found in them, and
-- touchpoints by channel.
SELECT kind, count(*) AS entries FROM (
    SELECT type AS kind FROM ev
    UNION ALL SELECT 'account' FROM accounts UNION ALL SELECT 'deal' FROM deals
    UNION ALL SELECT 'spend' FROM spend UNION ALL SELECT 'subscription' FROM subs
    UNION ALL SELECT 'touchpoint' FROM offline)
GROUP BY kind ORDER BY kind;

SELECT (SELECT count(*) FROM accounts) AS accounts,
       (SELECT count(DISTINCT user_id) FROM ev)
           + (SELECT count(DISTINCT email) FROM offline
              WHERE user_id IS NULL AND email NOT IN (SELECT email FROM user_of_email))
           AS persons,
       (SELECT count(DISTINCT anon) FROM ev) AS anonymous_ids,
       (SELECT count(*) FROM touches) AS touchpoints;

SELECT channel, count(*) AS touchpoints FROM touches GROUP BY channel ORDER BY channel;

-- mrr: movements by month, MRR and customers at each month's end, the rates.
WITH months AS (
    SELECT unnest(generate_series(date_trunc('month', (SELECT min(ts) FROM moves)),
                                  date_trunc('month', as_of), INTERVAL 1 MONTH)) AS month
    FROM instant),
sums AS (
    SELECT date_trunc('month', ts) AS month,
           sum(amount) FILTER (kind = 'new') AS new,
           sum(amount) FILTER (kind = 'expansion') AS expansion,
           sum(amount) FILTER (kind = 'reactivation') AS reactivation,
           sum(amount) FILTER (kind = 'contraction') AS contraction,
           sum(amount) FILTER (kind = 'churn') AS churn,
           count(*) FILTER (kind IN ('new', 'reactivation'))
               - count(*) FILTER (kind = 'churn') AS customers_delta
    FROM moves GROUP BY 1),
running AS (
    SELECT month, coalesce(new, 0) AS new, coalesce(expansion, 0) AS expansion,
           coalesce(reactivation, 0) AS reactivation, coalesce(contraction, 0) AS contraction,
           coalesce(churn, 0) AS churn,
           sum(coalesce(new, 0) + coalesce(expansion, 0) + coalesce(reactivation, 0)
               + coalesce(contraction, 0) + coalesce(churn, 0)) OVER (ORDER BY month) AS mrr_end,
           sum(coalesce(customers_delta, 0)) OVER (ORDER BY month) AS customers
    FROM months LEFT JOIN sums USING (month))
SELECT strftime(month, '%Y-%m') AS month, new / 100.0 AS new, expansion / 100.0 AS expansion,
       reactivation / 100.0 AS reactivation, contraction / 100.0 AS contraction,
       churn / 100.0 AS churn,
       (new + expansion + reactivation + contraction + churn) / 100.0 AS net_new,
       mrr_end / 100.0 AS mrr, 12 * mrr_end / 100.0 AS arr, customers,
       -(churn + contraction) / nullif(lag(mrr_end) OVER (ORDER BY month), 0)
           AS gross_mrr_churn_rate,
       -(churn + contraction + expansion + reactivation)
           / nullif(lag(mrr_end) OVER (ORDER BY month), 0) AS net_mrr_churn_rate,
       (new + expansion + reactivation) / nullif(-(churn + contraction), 0) AS quick_ratio
FROM running ORDER BY month;

-- retention: NRR, GRR and logo retention over the twelve months before as_of.
WITH at0 AS (
    SELECT account_id, arg_max(mrr, (ts, line)) AS mrr0 FROM subs, instant
    WHERE ts <= as_of - INTERVAL 12 MONTH GROUP BY account_id),
cohort AS (
    SELECT account_id, mrr0, coalesce(mrr_now, 0) AS mrr1
    FROM at0 LEFT JOIN customers USING (account_id) WHERE mrr0 > 0)
SELECT 'retention' AS report, count(*) AS cohort_accounts,
       sum(mrr1) / sum(mrr0) AS nrr, sum(least(mrr1, mrr0)) / sum(mrr0) AS grr,
       count(*) FILTER (mrr1 > 0) / count(*) AS logo_retention
FROM cohort;

-- cohorts: by month of first payment, logo and revenue retention at each later month's end.
WITH cohort AS (
    SELECT account_id, date_trunc('month', first_paid) AS cohort, first_mrr FROM customers
    WHERE first_paid IS NOT NULL),
cells AS (
    SELECT c.account_id, c.cohort, c.first_mrr, k,
           c.cohort + to_months(k + 1) - INTERVAL 1 MILLISECOND AS month_end
    FROM cohort c, range(1, 241) r(k), instant
    WHERE c.cohort + to_months(k + 1) - INTERVAL 1 MILLISECOND <= as_of),
valued AS (
    SELECT cells.*, coalesce(s.mrr, 0) AS mrr
    FROM cells ASOF LEFT JOIN subs s
        ON cells.account_id = s.account_id AND s.ts <= cells.month_end)
SELECT strftime(cohort, '%Y-%m') AS cohort, k AS month, count(*) AS accounts,
       count(*) FILTER (mrr > 0) / count(*) AS logo_retention,
       sum(mrr) / sum(first_mrr) AS revenue_retention
FROM valued GROUP BY cohort, k ORDER BY cohort, k;

-- survival: the curve (with Greenwood's log(-log) 95% band), median, RMST, at-risk counts.
SELECT t AS days, at_risk, d AS churned, survival,
       survival ^ exp(1.96 * sqrt(greenwood) / abs(ln(survival))) AS lower_95,
       survival ^ exp(-1.96 * sqrt(greenwood) / abs(ln(survival))) AS upper_95
FROM km WHERE grp = 'all' AND d > 0 ORDER BY t;

SELECT 'survival' AS report,
       (SELECT min(t) FROM km WHERE grp = 'all' AND survival <= 0.5) AS median_days,
       (SELECT rmst_days FROM rmst WHERE grp = 'all') AS rmst_days,
       count(*) FILTER (days >= 0) AS at_risk_0, count(*) FILTER (days >= 90) AS at_risk_90,
       count(*) FILTER (days >= 180) AS at_risk_180, count(*) FILTER (days >= 365) AS at_risk_365,
       count(*) FILTER (days >= 730) AS at_risk_730, count(*) FILTER (days >= 1095) AS at_risk_1095
FROM lifetimes;

-- unit-economics --by channel: spend, new customers by first touch, CAC, ARPA, predicted LTV
-- (ARPA × RMST in months, gross margin 1), LTV:CAC, payback, ROAS on realized revenue.
WITH spent AS (
    SELECT channel, sum(cost) AS spend FROM spend, instant WHERE ts <= as_of GROUP BY channel),
won AS (
    SELECT f.channel, count(*) AS new_customers, sum(c.realized) AS realized,
           avg(c.mrr_now) FILTER (c.mrr_now > 0) AS arpa,
           count(*) FILTER (c.mrr_now > 0) AS active
    FROM customers c JOIN first_touch f USING (account_id) GROUP BY f.channel),
joined AS (
    SELECT channel, coalesce(spend, 0) AS spend, coalesce(new_customers, 0) AS new_customers,
           coalesce(active, 0) AS active, arpa, realized, rmst_days
    FROM spent FULL JOIN won USING (channel) LEFT JOIN rmst ON rmst.grp = channel),
priced AS (
    SELECT *, CASE WHEN spend = 0 THEN 0 WHEN new_customers = 0 THEN NULL
                   ELSE spend / new_customers END AS cac,
           arpa * rmst_days / 30.4375 AS ltv
    FROM joined)
SELECT channel, spend / 100.0 AS spend, new_customers, active, cac / 100.0 AS cac,
       arpa / 100.0 AS arpa, ltv / 100.0 AS predicted_ltv, ltv / nullif(cac, 0) AS ltv_cac,
       cac / nullif(arpa, 0) AS payback_months, realized / nullif(spend, 0) AS roas_realized
FROM priced ORDER BY channel;

-- attribution --compare: conversions credited to channels by each model SQL can state.
-- Markov (an absorbing chain solved exactly) and w_shaped (milestones from lead and opportunity
-- creation) are not computed here.
WITH j AS (
    SELECT *, epoch_ms(converted_at - ts) / 86400000.0 AS age,
           count(DISTINCT channel) OVER (PARTITION BY account_id) AS channels,
           count(*) OVER (PARTITION BY account_id, channel) AS of_channel,
           max(pos) FILTER (channel <> 'direct') OVER (PARTITION BY account_id) AS last_non_direct
    FROM journeys),
weighted AS (
    SELECT channel,
           (pos = 1)::INT AS first_touch,
           (pos = n)::INT AS last_touch,
           (pos = coalesce(last_non_direct, n))::INT AS last_non_direct,
           1.0 / n AS linear,
           2 ^ (-age / 7) / sum(2 ^ (-age / 7)) OVER (PARTITION BY account_id) AS time_decay,
           CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5
                WHEN pos = 1 OR pos = n THEN 0.4 ELSE 0.2 / (n - 2) END AS position_based,
           1.0 / channels / of_channel AS shapley
    FROM j)
SELECT channel, sum(first_touch) AS first_touch, sum(last_touch) AS last_touch,
       sum(last_non_direct) AS last_non_direct, sum(linear) AS linear,
       sum(time_decay) AS time_decay, sum(position_based) AS position_based,
       sum(shapley) AS shapley
FROM weighted GROUP BY channel ORDER BY channel;
