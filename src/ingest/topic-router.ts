import type { Connector } from '../connectors/framework/connector.ts';

/**
 * Maps the topics actually consumed to connectors. A deployment-wide prefix (KAFKA_TOPIC_PREFIX) lets several
 * environments, or parallel test runs, share one cluster; connectors only ever see contract topic names.
 */
export type Route = { connector: Connector; topic: string; contractTopic: string };

export class TopicRouter {
  private readonly routes = new Map<string, Route>();
  readonly prefix: string;

  constructor(connectors: readonly Connector[], prefix = '') {
    this.prefix = prefix;
    for (const connector of connectors) {
      for (const contractTopic of connector.manifest.topics) {
        const topic = `${prefix}${contractTopic}`;
        if (this.routes.has(topic)) throw new Error(`topic ${topic} is claimed by two connectors`);
        this.routes.set(topic, { connector, topic, contractTopic });
      }
    }
  }

  get topics(): string[] {
    return [...this.routes.keys()];
  }

  /** Topics consumed from Kafka (file-fed connectors declare `*.file` pseudo-topics for the batch path). */
  get streamTopics(): string[] {
    return this.topics.filter((t) => !t.endsWith('.file'));
  }

  route(topic: string): Route | undefined {
    return this.routes.get(topic);
  }
}
