import { useMemo } from 'preact/hooks';

export interface GraphNode {
  readonly id: string;
  readonly label: string;
  /** `investigation`, `alert`, `user`, `device`, `finding`, ...: picks the colour. */
  readonly kind: string;
  /** `malicious`, `suspicious`, `clean`, `unknown`: outlines the node. */
  readonly verdict?: string | undefined;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
}

interface Placed extends GraphNode {
  x: number;
  y: number;
}

const WIDTH = 760;
const HEIGHT = 420;

/**
 * A small force-directed layout (springs on edges, repulsion between nodes, a pull to the
 * centre), run to rest before drawing: a graph of a few dozen nodes settles in well under a
 * frame, and a still picture is easier to read than a moving one. Deterministic: nodes start on
 * a circle in input order, so the same investigation draws the same way every time.
 */
export function layout(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): Placed[] {
  const placed: Placed[] = nodes.map((node, index) => {
    const angle = (2 * Math.PI * index) / Math.max(nodes.length, 1);
    return { ...node, x: WIDTH / 2 + 150 * Math.cos(angle), y: HEIGHT / 2 + 120 * Math.sin(angle) };
  });
  const byId = new Map(placed.map((node) => [node.id, node]));
  const links = edges
    .map((edge) => [byId.get(edge.from), byId.get(edge.to)] as const)
    .filter((pair): pair is readonly [Placed, Placed] => pair[0] !== undefined && pair[1] !== undefined);
  for (let step = 0; step < 300; step++) {
    const cooling = 1 - step / 300;
    const force = placed.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < placed.length; i++) {
      for (let j = i + 1; j < placed.length; j++) {
        const a = placed[i] as Placed;
        const b = placed[j] as Placed;
        const dx = a.x - b.x || 0.01;
        const dy = a.y - b.y || 0.01;
        const distance2 = Math.max(dx * dx + dy * dy, 100);
        const push = 6000 / distance2;
        const d = Math.sqrt(distance2);
        (force[i] as { x: number; y: number }).x += (dx / d) * push;
        (force[i] as { x: number; y: number }).y += (dy / d) * push;
        (force[j] as { x: number; y: number }).x -= (dx / d) * push;
        (force[j] as { x: number; y: number }).y -= (dy / d) * push;
      }
    }
    for (const [a, b] of links) {
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const d = Math.max(Math.sqrt(dx * dx + dy * dy), 1);
      const pull = (d - 110) * 0.05;
      const ia = placed.indexOf(a);
      const ib = placed.indexOf(b);
      (force[ia] as { x: number; y: number }).x += (dx / d) * pull;
      (force[ia] as { x: number; y: number }).y += (dy / d) * pull;
      (force[ib] as { x: number; y: number }).x -= (dx / d) * pull;
      (force[ib] as { x: number; y: number }).y -= (dy / d) * pull;
    }
    placed.forEach((node, index) => {
      const f = force[index] as { x: number; y: number };
      f.x += (WIDTH / 2 - node.x) * 0.01;
      f.y += (HEIGHT / 2 - node.y) * 0.01;
      node.x = Math.min(WIDTH - 60, Math.max(60, node.x + Math.max(-20, Math.min(20, f.x)) * cooling));
      node.y = Math.min(HEIGHT - 30, Math.max(30, node.y + Math.max(-20, Math.min(20, f.y)) * cooling));
    });
  }
  return placed;
}

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function EntityGraph({ nodes, edges }: { nodes: readonly GraphNode[]; edges: readonly GraphEdge[] }) {
  const placed = useMemo(() => layout(nodes, edges), [nodes, edges]);
  const byId = new Map(placed.map((node) => [node.id, node]));
  const kinds = [...new Set(placed.map((node) => node.kind))];
  if (placed.length === 0) return <p class="muted">Nothing to draw yet.</p>;
  return (
    <figure class="graph">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label="Entities and alerts of this investigation"
        data-testid="investigation-graph"
      >
        {edges.map((edge) => {
          const a = byId.get(edge.from);
          const b = byId.get(edge.to);
          return a && b ? (
            <line key={`${edge.from}>${edge.to}`} x1={a.x} y1={a.y} x2={b.x} y2={b.y} class="edge" />
          ) : null;
        })}
        {placed.map((node) => (
          <g key={node.id} transform={`translate(${node.x} ${node.y})`} class={`node kind-${node.kind}`}>
            <circle r={node.kind === 'investigation' ? 16 : 11} class={`verdict-${node.verdict ?? 'none'}`} />
            <title>{`${node.kind}: ${node.label}`}</title>
            <text y={26} text-anchor="middle">
              {cut(node.label, 28)}
            </text>
          </g>
        ))}
      </svg>
      <figcaption class="legend">
        {kinds.map((kind) => (
          <span key={kind} class={`node kind-${kind}`}>
            <svg width="12" height="12" aria-hidden="true">
              <circle cx="6" cy="6" r="5" />
            </svg>
            {kind}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
