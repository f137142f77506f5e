import type { MikroORM } from '@mikro-orm/postgresql';
import type { Producer } from '../messaging/kafka.ts';

/**
 * Publishes outbox rows (alert changes) to Kafka after the transaction that wrote them committed: rows are
 * claimed with FOR UPDATE SKIP LOCKED, sent, and marked published. At-least-once: a crash between send and mark
 * re-sends; consumers deduplicate on the payload's alertId + event time.
 */
export async function publishOutbox(orm: MikroORM, producer: Producer, limit = 500): Promise<number> {
  return orm.em.fork().transactional(async (em) => {
    const rows = await em.execute<{ id: string; topic: string; message_key: string | null; payload: unknown }[]>(
      `select id, topic, message_key, payload from outbox where published_at is null order by created_at limit ? for update skip locked`,
      [limit],
    );
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, typeof rows>();
    for (const r of rows) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
    for (const [topic, list] of byTopic) {
      await producer.send({
        topic,
        acks: -1,
        messages: list.map((r) => ({
          key: r.message_key,
          value: JSON.stringify(r.payload),
          headers: { 'hub.outbox.id': r.id },
        })),
      });
    }
    await em.execute(
      `update outbox set published_at = now() where id in (${rows.map(() => '?').join(', ')})`,
      rows.map((r) => r.id),
    );
    return rows.length;
  });
}
