//! An upgrade's charge in the three steps of [`payments::charge_once`]: prepare (replay a kept
//! answer; schedule a downgrade; or check the upgrade and record the account's pending attempt),
//! charge the card on file, record (quote again, act on the result, keep the answer). Used by
//! the portal's confirm and by its 3-D Secure answer.

use super::plan_changes::{self, ChangeStep, ChargedUpgrade, open_portal};
use crate::error::AppError;
use crate::idempotency::{self, AnswerTo, Keyed};
use crate::payments::test_cards::ChargeKind;
use crate::payments::{Attempt, Charge, Charged, PendingCharge, Prepared};
use crate::store::Conn;
use crate::store::{self, PaymentMethod};
use billing::wire::{ChallengeAnswer, ChallengeOutcome, ChangeOutcome, ConfirmChange, DeclineCode};
use billing::{Money, PlanId};
use time::OffsetDateTime;

/// An upgrade's charge recorded as pending, with what recording its result needs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingChange {
    attempt: Attempt,
    session_id: String,
    target: PlanId,
    expected_total: Money,
    amount: Money,
    pm: PaymentMethod,
    /// Whether this answers a 3-D Secure challenge.
    answered: BankCheck,
    answer_to: AnswerTo,
}

/// The bank's check (3-D Secure) behind an upgrade's charge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", from = "StoredBankCheck")]
pub enum BankCheck {
    /// Not done: a first confirm (the bank may still ask).
    NotDone,
    /// Done on the test processor's stand-in.
    Done,
    /// Done in Stripe mode: the PaymentIntent that waited for it decides.
    DoneOn(String),
}

/// A [`BankCheck`] as kept with a pending attempt, now or by the version before it, which kept
/// the PaymentIntent's id, or `null` (read as not done, as that version read it back).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StoredBankCheck {
    Now(BankCheckNow),
    Intent(String),
    Nothing(()),
}

/// [`BankCheck`]'s own form (what `Serialize` writes), without the `from` above.
#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum BankCheckNow {
    NotDone,
    Done,
    DoneOn(String),
}

impl From<StoredBankCheck> for BankCheck {
    fn from(stored: StoredBankCheck) -> BankCheck {
        match stored {
            StoredBankCheck::Now(BankCheckNow::NotDone) | StoredBankCheck::Nothing(()) => BankCheck::NotDone,
            StoredBankCheck::Now(BankCheckNow::Done) => BankCheck::Done,
            StoredBankCheck::Now(BankCheckNow::DoneOn(intent)) | StoredBankCheck::Intent(intent) => {
                BankCheck::DoneOn(intent)
            }
        }
    }
}

/// A plan change with its idempotency key, as the page sent it.
pub struct Change {
    pub session_id: String,
    pub key: String,
    pub request: ConfirmChange,
}

type Step = Prepared<PendingChange>;

/// Step one of a confirmed change: the kept answer for its key, a scheduled downgrade, or the
/// upgrade's pending attempt.
pub fn prepare_change(conn: &Conn<'_>, change: &Change, now: OffsetDateTime) -> Result<Step, AppError> {
    let scope = format!("portal:{}", change.session_id);
    let req = &change.request;
    let fingerprint = idempotency::fingerprint(&[req.plan.as_str(), &req.expected_total.cents().to_string()]);
    let keyed = Keyed { scope: &scope, key: &change.key, fingerprint: &fingerprint };
    if let Some(answer) = idempotency::stored(conn, &keyed, OffsetDateTime::UNIX_EPOCH)? {
        return Ok(Prepared::Answered(answer));
    }
    let answer_to = AnswerTo::Key { scope: scope.clone(), key: change.key.clone(), fingerprint: fingerprint.clone() };
    let asked = ChangeAsked {
        session_id: &change.session_id,
        target: req.plan,
        expected_total: req.expected_total,
        answered: BankCheck::NotDone,
        answer_to,
    };
    begin(conn, asked, now)
}

/// Step one of a 3-D Secure answer for an upgrade: the kept outcome of an earlier answer, a
/// failed check (nothing to charge), or the upgrade's pending attempt.
pub fn prepare_answer(
    conn: &Conn<'_>,
    session_id: &str,
    answer: &ChallengeAnswer,
    now: OffsetDateTime,
) -> Result<Step, AppError> {
    let (challenge, kept) =
        idempotency::challenge_and_answer(conn, &answer.challenge_id, session_id, |c| c.plan.is_some())?;
    if let Some(outcome) = kept {
        return Ok(Prepared::Answered(outcome));
    }
    open_portal(conn, session_id, now)?;
    let (Some(plan), Some(expected_total)) = (challenge.plan, challenge.expected_total) else {
        return Err(AppError::ChallengeNotFound);
    };
    let answer_to = AnswerTo::Challenge(challenge.id);
    if answer.outcome == ChallengeOutcome::Fail {
        let outcome = plan_changes::declined(DeclineCode::AuthenticationFailed);
        answer_to.keep(conn, &outcome, now)?;
        return Ok(Prepared::Answered(outcome));
    }
    let answered = match challenge.intent_id {
        Some(intent) => BankCheck::DoneOn(intent),
        None => BankCheck::Done,
    };
    begin(conn, ChangeAsked { session_id, target: plan, expected_total, answered, answer_to }, now)
}

/// What a confirm or a 3-D Secure answer asks of an upgrade: in which session, to which plan at
/// which total (as quoted on the page), after which bank check, and where its answer is kept.
struct ChangeAsked<'a> {
    session_id: &'a str,
    target: PlanId,
    expected_total: Money,
    answered: BankCheck,
    answer_to: AnswerTo,
}

fn begin(conn: &Conn<'_>, asked: ChangeAsked<'_>, now: OffsetDateTime) -> Result<Step, AppError> {
    let ChangeAsked { session_id, target, expected_total, answered, answer_to } = asked;
    let (session, sub) = open_portal(conn, session_id, now)?;
    let account_id = sub.account_id.clone();
    let (pm, amount) = match plan_changes::begin_change(conn, &session, sub, target, expected_total, now)? {
        ChangeStep::Done(outcome) => {
            answer_to.keep(conn, &outcome, now)?;
            return Ok(Prepared::Answered(outcome));
        }
        ChangeStep::Charge { pm, amount } => (pm, amount),
    };
    let Some(attempt) = store::claim_attempt(conn, &account_id, PendingChange::PURPOSE, now)? else {
        return Ok(Prepared::Busy);
    };
    Ok(Prepared::Charge(PendingChange {
        attempt,
        session_id: session.id,
        target,
        expected_total,
        amount,
        pm,
        answered,
        answer_to,
    }))
}

impl PendingCharge for PendingChange {
    type Outcome = ChangeOutcome;
    const PURPOSE: &'static str = "upgrade";

    fn attempt_id(&self) -> &str {
        &self.attempt.id
    }

    fn charge(&self) -> Charge {
        let charge = Charge::new(&self.attempt, &self.pm, self.amount, ChargeKind::Later);
        let (authenticated, intent) = match &self.answered {
            BankCheck::NotDone => (false, None),
            BankCheck::Done => (true, None),
            BankCheck::DoneOn(intent) => (true, Some(intent.clone())),
        };
        Charge { authenticated, off_session: true, intent, ..charge }
    }

    fn record(&self, conn: &Conn<'_>, charged: &Charged, now: OffsetDateTime) -> Result<ChangeOutcome, AppError> {
        let (session, sub) = open_portal(conn, &self.session_id, now)?;
        let upgrade = ChargedUpgrade {
            session: &session,
            target: self.target,
            expected_total: self.expected_total,
            pm: &self.pm,
            charged,
        };
        let outcome = plan_changes::record_upgrade(conn, sub, &upgrade, now)?;
        self.answer_to.keep(conn, &outcome, now)?;
        Ok(outcome)
    }

    fn status(outcome: &ChangeOutcome) -> &'static str {
        match outcome {
            ChangeOutcome::Succeeded { .. } => "succeeded",
            ChangeOutcome::RequiresAction { .. } => "requires_action",
            ChangeOutcome::Declined { .. } => "declined",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BankCheck;

    #[test]
    fn a_bank_check_reads_back_as_it_was_kept_now_and_by_the_version_before() {
        for check in [BankCheck::NotDone, BankCheck::Done, BankCheck::DoneOn("pi_1".into())] {
            let kept = serde_json::to_string(&check).unwrap();
            assert_eq!(serde_json::from_str::<BankCheck>(&kept).unwrap(), check, "{kept}");
        }
        assert_eq!(serde_json::from_str::<BankCheck>(r#""pi_1""#).unwrap(), BankCheck::DoneOn("pi_1".into()));
        assert_eq!(serde_json::from_str::<BankCheck>("null").unwrap(), BankCheck::NotDone);
    }
}
