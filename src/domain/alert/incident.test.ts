import { describe, expect, it } from 'vitest';
import { incidentStatus, toGraphIncidentStatus } from './incident.js';

describe('incidentStatus', () => {
  it('is resolved only when every alert is', () => {
    expect(incidentStatus(['resolved', 'resolved'])).toBe('resolved');
    expect(incidentStatus(['resolved', 'new'])).toBe('in_progress');
  });
  it('is new while every alert is new, or before Vigil has seen any', () => {
    expect(incidentStatus(['new', 'new'])).toBe('new');
    expect(incidentStatus([])).toBe('new');
  });
  it('is in progress when work has started on any alert', () => {
    expect(incidentStatus(['new', 'in_progress'])).toBe('in_progress');
  });
  it("speaks Graph's incident words", () => {
    expect(toGraphIncidentStatus('new')).toBe('active');
    expect(toGraphIncidentStatus('resolved')).toBe('resolved');
  });
});
