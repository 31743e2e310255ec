import { describe, expect, it } from 'vitest';
import { incidentAlertsLine, incidentStatus, toGraphIncidentStatus } from './incident.js';

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

describe('incidentAlertsLine', () => {
  it('counts the alerts by status, in the order of the lifecycle', () => {
    expect(
      incidentAlertsLine({ alertCount: 3, alertStatuses: { new: 2, in_progress: 0, resolved: 1 } }),
    ).toBe('3 alerts: 2 New, 1 Resolved');
    expect(
      incidentAlertsLine({ alertCount: 0, alertStatuses: { new: 0, in_progress: 0, resolved: 0 } }),
    ).toBe('0 alerts');
  });
});
