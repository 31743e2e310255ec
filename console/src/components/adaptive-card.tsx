import { type Action, AdaptiveCard } from 'adaptivecards';
import { useEffect, useRef, useState } from 'preact/hooks';

// No markdown processor: every TextBlock is set with innerText, so alert text can never become
// markup. (Teams renders a little markdown; the preview shows those few marks literally.)
AdaptiveCard.onProcessMarkdown = (_text, result) => {
  result.didProcess = false;
};

/**
 * A Teams alert card drawn by Microsoft's own Adaptive Cards renderer, from the JSON the Teams
 * adapter posts. Its buttons do nothing here: the console's buttons above run the same commands.
 */
export function AdaptiveCardView({ card }: { card: Record<string, unknown> }) {
  const host = useRef<HTMLDivElement>(null);
  const [clicked, setClicked] = useState<string | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);

  useEffect(() => {
    const target = host.current;
    if (target === null) return;
    const adaptive = new AdaptiveCard();
    adaptive.onExecuteAction = (action: Action) => setClicked(action.title ?? 'button');
    try {
      adaptive.parse(card);
      const rendered = adaptive.render();
      target.replaceChildren(...(rendered === undefined ? [] : [rendered]));
      setProblem(undefined);
    } catch (error) {
      target.replaceChildren();
      setProblem(error instanceof Error ? error.message : String(error));
    }
  }, [card]);

  return (
    <div class="teams-card">
      <div ref={host} data-testid="teams-card" />
      {problem !== undefined && <p class="notice error">{`The card could not be drawn: ${problem}`}</p>}
      {clicked !== undefined && (
        <p class="muted small">{`“${clicked}” works in Teams; here, use the buttons at the top of the page.`}</p>
      )}
    </div>
  );
}
