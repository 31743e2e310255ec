import { useState } from 'preact/hooks';
import { CLASSIFICATION_LABELS, DETERMINATION_LABELS } from '../format';
import type { Classification } from '../types';

/** The Resolve form of an alert or an incident: a classification (required) and a comment. */
export function ResolveForm(props: {
  submitLabel: string;
  busy: boolean;
  onSubmit: (resolution: {
    classification: Classification;
    determination?: string;
    comment?: string;
  }) => void;
  onCancel: () => void;
}) {
  const [classification, setClassification] = useState<Classification>('true_positive');
  const [determination, setDetermination] = useState('');
  const [comment, setComment] = useState('');
  return (
    <form
      class="resolve card"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSubmit({
          classification,
          ...(determination === '' ? {} : { determination }),
          ...(comment.trim() === '' ? {} : { comment: comment.trim() }),
        });
      }}
    >
      <label>
        Classification
        <select
          name="classification"
          value={classification}
          onChange={(event) => setClassification(event.currentTarget.value as Classification)}
        >
          {Object.entries(CLASSIFICATION_LABELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Determination
        <select
          name="determination"
          value={determination}
          onChange={(event) => setDetermination(event.currentTarget.value)}
        >
          <option value="">Not said</option>
          {Object.entries(DETERMINATION_LABELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Comment
        <textarea
          name="comment"
          rows={2}
          value={comment}
          onInput={(event) => setComment(event.currentTarget.value)}
        />
      </label>
      <div>
        <button type="submit" class="primary" disabled={props.busy}>
          {props.submitLabel}
        </button>{' '}
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
