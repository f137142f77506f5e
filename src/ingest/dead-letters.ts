import { marks } from '../db/sql-sets.ts';
import { executeBound } from '../db/bound-sql.ts';
import { walkIndexesLocally } from '../db/local-settings.ts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Producer } from '../messaging/kafka.ts';
import { dlqPublishedTotal } from '../observability/metrics.ts';

/**
 * Dead-letter publishing through a transactional outbox: the quarantine row is written in the same transaction
 * as the batch's effects; this publisher then sends it to `<topic>.dlq` with Kafka Connect's
 * `__connect.errors.*` headers and marks it published. Rows are claimed with FOR UPDATE SKIP LOCKED, so several
 * instances share the work; a crash between send and mark re-sends (at-least-once, like Connect's DLQ).
 * Rows from batch files (no Kafka topic) stay in the quarantine table only.
 */
type Row = {
  id: string;
  connector: string;
  topic: string;
  partition: number;
  offset: string;
  message_key: string | null;
  message_value: string | null;
  error_code: string;
  reason: string;
};

function stageOf(code: string): string {
  if (code === 'UNPARSEABLE' || code === 'INVALID_ENVELOPE' || code === 'EMPTY_VALUE' || code === 'TOO_LARGE')
    return 'VALUE_CONVERTER';
  if (code === 'REJECTED_BY_DATABASE') return 'TASK_PUT';
  return 'TRANSFORMATION';
}

export async function publishDeadLetters(orm: MikroORM, producer: Producer, limit = 500): Promise<number> {
  return orm.em.fork().transactional(async (em) => {
    // Stale entries of published rows in the pending index: see walkIndexesLocally.
    await walkIndexesLocally(em);
    const rows = await executeBound<Row[]>(
      em,
      `select id, connector, topic, partition, "offset"::text as "offset", message_key, message_value, error_code, reason
         from quarantined_event where dlq_published_at is null and topic not like '%.file/%'
        order by received_at limit ? for update skip locked`,
      [limit],
    );
    if (rows.length === 0) return 0;
    const byTopic = new Map<string, Row[]>();
    for (const r of rows) byTopic.set(`${r.topic}.dlq`, [...(byTopic.get(`${r.topic}.dlq`) ?? []), r]);
    for (const [topic, list] of byTopic) {
      await producer.send({
        topic,
        acks: -1,
        messages: list.map((r) => ({
          key: r.message_key,
          value: r.message_value,
          headers: {
            '__connect.errors.topic': r.topic,
            '__connect.errors.partition': String(r.partition),
            '__connect.errors.offset': r.offset,
            '__connect.errors.connector.name': r.connector,
            '__connect.errors.task.id': '0',
            '__connect.errors.stage': stageOf(r.error_code),
            '__connect.errors.class.name': `hub.connectors.${r.connector}`,
            '__connect.errors.exception.class.name':
              r.error_code === 'REJECTED_BY_DATABASE' ? 'DatabaseError' : `MappingError.${r.error_code}`,
            '__connect.errors.exception.message': r.reason,
            '__connect.errors.exception.stacktrace': '',
          },
        })),
      });
      dlqPublishedTotal.inc({ topic }, list.length);
    }
    await executeBound(
      em,
      `update quarantined_event set dlq_published_at = now() where id in (${marks(rows.length)})`,
      rows.map((r) => r.id),
    );
    return rows.length;
  });
}
