/**
 * Open-loop producer for bench/stream.ts: XADDs the course's records at RATE entries/s for DURATION_S,
 * on a schedule fixed in advance (every 5 ms it sends what the clock says is due), so a slow consumer
 * or a slow Redis reply never slows the offered load. Args: <redis url> <stream> <rate> <duration s> <first ride id>.
 */
import { Redis } from 'ioredis';

const [url, stream, rateText, durationText, firstText] = process.argv.slice(2);
const rate = Number(rateText);
const total = Math.round(rate * Number(durationText));
const redis = new Redis(url);
let sent = 0;
let rideId = Number(firstText);
const started = performance.now();
const timer = setInterval(() => {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
  if (due <= sent) return;
  const pipeline = redis.pipeline();
  for (; sent < due; sent++, rideId++) {
    const ride = {
      PULocationID: 1 + (rideId % 265),
      DOLocationID: 1 + ((rideId * 7) % 265),
      trip_distance: (rideId % 300) / 10,
      pickup_datetime: '2021-03-01T08:30:00',
    };
    pipeline.xadd(stream, '*', 'data', JSON.stringify({ ride, ride_id: rideId }));
  }
  void pipeline.exec();
  if (sent >= total) {
    clearInterval(timer);
    void redis.quit().then(() => process.stdout.write(`${JSON.stringify({ sent, seconds: (performance.now() - started) / 1000 })}\n`));
  }
}, 5);
