/**
 * The patches of the registration workflow: changes to what running cases do, each asked
 * with `patched()` only at the point where the old and the new code part, so a case that
 * never reaches that point carries no marker. Histories from before a patch replay the old
 * way (tests/replay). Never rename one; retire it as the README says.
 */

/**
 * Linked institutions get `case.notice` when the certificate number is issued (the
 * registration is on record), not when the applicant collects the certificate. Asked only
 * for a case with linked institutions, when its certificate is issued.
 */
export const NOTICE_AT_ISSUE = 'notice-at-issue';

/**
 * A review no partner of the department could take is searched for again on a growing
 * timer (5 minutes doubling up to an hour) until someone can, instead of only at the
 * reminder and the timeout. Asked only when a search finds nobody.
 */
export const REVIEWER_SEARCH = 'reviewer-search';

/**
 * A review a supervisor assigns by hand (`assignReviewer`) gets its reminder and timeout on the
 * policy's calendar, like a review sent at acceptance or found by a later search
 * (docs/sla-clocks.md); before, wall-clock time from the assignment. Asked only when a
 * supervisor assigns a reviewer in a case on the working-day clocks.
 */
export const ASSIGNED_REVIEW_ON_CALENDAR = 'assigned-review-on-calendar';

/**
 * A survey of 1-2 raises a `low_survey_score` escalation, as in a resident request, and it
 * climbs after the case has closed (CLIMB_AFTER_CLOSE_PATCH) until someone takes it on.
 * Before, a registration's low score opened a supervisor review in the timeline only. Asked
 * only when a low score is recorded in a case on the working-day clocks.
 */
export const LOW_SCORE_ESCALATES = 'registration-low-score-escalates';
