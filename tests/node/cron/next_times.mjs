// Reads [{expr, tz, from, count}] as JSON on stdin and prints, for each, the next fire
// times npm cron-parser gives ({"times": [epoch ms...]} or {"error": "..."}), as JSON.
import { CronExpressionParser } from 'cron-parser';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map(({ expr, tz, from, count }) => {
  try {
    const it = CronExpressionParser.parse(expr, { currentDate: new Date(from), tz });
    const times = [];
    for (let i = 0; i < count; i++) times.push(it.next().getTime());
    return { times };
  } catch (e) {
    return { error: String(e.message || e) };
  }
});
process.stdout.write(JSON.stringify(out));
