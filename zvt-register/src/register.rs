//! The ECR side of each exchange [P16 §5, P15 §2]: send the command, expect `80 00`
//! within T3, answer every PT message (`80 00 00` or the [`Behaviour`]'s fault), re-arm
//! T4 on `04 FF`/`04 0F`, collect until `06 0F`/`06 1E`. [`Exchange`] runs it step by
//! step (a test can wait for the first 04 FF and send `06 B0`); [`Register`] wraps it.

use std::time::Duration;

use tokio::time::Instant;

use crate::apdu::Apdu;
use crate::behaviour::{Behaviour, ReceiptAnswer, StatusAnswer};
use crate::command::{self, Authorization, Refund, Registration, Reversal};
use crate::link::{Link, LinkError, WriteFaults};
use crate::message::{self, Context, PtMessage};
use crate::outcome::{End, Outcome, ReceiptCollector, Timer};
use crate::transcript::Transcript;

/// One thing that happened in an exchange, for [`Exchange::next_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A PT message (already answered per the behaviour).
    Message(PtMessage),
    /// The exchange ended.
    End(End),
}

/// A register: a link to the PT, the password, the behaviour for the next calls.
pub struct Register {
    link: Link,
    /// The password sent with the commands that carry one.
    pub password: u32,
    /// The behaviour used by the command methods.
    pub behaviour: Behaviour,
}

impl Register {
    /// A register on `link` with password `000000` and the default behaviour.
    pub fn new(link: Link) -> Self {
        Self { link, password: 0, behaviour: Behaviour::default() }
    }

    /// Connects over TCP.
    pub async fn connect_tcp(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<Self> {
        Ok(Self::new(Link::tcp(addr).await?))
    }

    /// The link (e.g. to close it).
    pub fn link(&mut self) -> &mut Link {
        &mut self.link
    }

    /// Starts `apdu`; `completes` says whether a 06 0F/06 1E follows the 80 00.
    pub async fn start(&mut self, apdu: Apdu, completes: bool) -> Exchange<'_> {
        let behaviour = self.behaviour.clone();
        Exchange::start(&mut self.link, apdu, completes, behaviour).await
    }

    /// Runs `apdu` to its end.
    pub async fn run(&mut self, apdu: Apdu, completes: bool) -> Outcome {
        self.start(apdu, completes).await.finish().await
    }

    /// Registration 06 00.
    pub async fn register(&mut self, registration: &Registration) -> Outcome {
        self.run(registration.encode(), true).await
    }

    /// Authorization 06 01, to its end.
    pub async fn authorize(&mut self, authorization: &Authorization) -> Outcome {
        self.run(authorization.encode(), true).await
    }

    /// Starts an Authorization: the handle gives events, can abort, then finishes.
    pub async fn start_payment(&mut self, authorization: &Authorization) -> Exchange<'_> {
        self.start(authorization.encode(), true).await
    }

    /// Reversal 06 30 of `receipt_no` (password from the register).
    pub async fn reverse(&mut self, mut reversal: Reversal) -> Outcome {
        reversal.password = self.password;
        self.run(reversal.encode(), true).await
    }

    /// Refund 06 31 (password from the register).
    pub async fn refund(&mut self, mut refund: Refund) -> Outcome {
        refund.password = self.password;
        self.run(refund.encode(), true).await
    }

    /// End-of-Day 06 50.
    pub async fn end_of_day(&mut self) -> Outcome {
        self.run(command::end_of_day(self.password), true).await
    }

    /// Repeat Receipt 06 20 with service byte 01 (status information again).
    pub async fn repeat_receipt(&mut self) -> Outcome {
        self.run(command::repeat_receipt(self.password, Some(0x01)), true).await
    }

    /// Status Enquiry 05 01.
    pub async fn status_enquiry(&mut self) -> Outcome {
        self.run(command::status_enquiry(self.password), true).await
    }

    /// Log-Off 06 02 (answered 80 00 00 only).
    pub async fn log_off(&mut self) -> Outcome {
        self.run(command::log_off(), false).await
    }

    /// Abort 06 B0 while the ECR is master (answered 80 00 00 only).
    pub async fn abort(&mut self) -> Outcome {
        self.run(command::abort(), false).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitAnswer,
    AwaitPt,
    Done,
}

/// One running exchange (the brief's `PaymentHandle`).
pub struct Exchange<'a> {
    link: &'a mut Link,
    behaviour: Behaviour,
    context: Context,
    completes: bool,
    phase: Phase,
    deadline: Instant,
    t4: Duration,
    please_wait_left: u8,
    abort_sent: bool,
    receipts: ReceiptCollector,
    outcome: Outcome,
}

impl<'a> Exchange<'a> {
    async fn start(link: &'a mut Link, apdu: Apdu, completes: bool, behaviour: Behaviour) -> Self {
        link.set_serial_faults(behaviour.serial.clone());
        let context = Context { command: apdu.control(), table_order: behaviour.table_order };
        let please_wait_left = match behaviour.status_answer {
            StatusAnswer::PleaseWait(n) => n,
            _ => 0,
        };
        let mut exchange = Exchange {
            deadline: Instant::now() + behaviour.t3,
            t4: behaviour.t4,
            link,
            context,
            completes,
            phase: Phase::AwaitAnswer,
            please_wait_left,
            abort_sent: false,
            receipts: ReceiptCollector::default(),
            outcome: empty_outcome(),
            behaviour,
        };
        let faults = exchange.behaviour.command_faults();
        if let Err(e) = exchange.link.send(&apdu, &faults).await {
            exchange.end(end_of_link_error(e, Timer::T3));
        } else {
            exchange.deadline = Instant::now() + exchange.behaviour.t3;
        }
        exchange
    }

    /// Sends `06 B0` on this connection [P15 §2.23]; the PT's answer to it is kept as
    /// [`Outcome::abort_answer`] (the exchange continues to its 06 1E).
    pub async fn abort(&mut self) -> Result<(), LinkError> {
        self.abort_sent = true;
        self.link.send(&command::abort(), &WriteFaults::default()).await
    }

    /// The next event, `None` once the exchange has ended and reported it.
    pub async fn next_event(&mut self) -> Option<Event> {
        if self.phase == Phase::Done {
            return None;
        }
        let apdu = match self.link.recv(self.deadline).await {
            Ok(apdu) => apdu,
            Err(e) => {
                let timer = if self.phase == Phase::AwaitAnswer { Timer::T3 } else { Timer::T4 };
                return Some(self.end(end_of_link_error(e, timer)));
            }
        };
        let message = message::parse(&apdu, self.context, &mut self.link.transcript.violations);
        if let Some(end) = self.handle(&message).await {
            self.end(end);
        }
        Some(Event::Message(message))
    }

    /// The next event that is an intermediate status (04 FF); `None` if the exchange
    /// ended first.
    pub async fn next_intermediate(&mut self) -> Option<message::IntermediateStatus> {
        while let Some(event) = self.next_event().await {
            if let Event::Message(PtMessage::Intermediate(status)) = event {
                return Some(status);
            }
        }
        None
    }

    /// Runs the exchange to its end.
    pub async fn finish(mut self) -> Outcome {
        while self.next_event().await.is_some() {}
        self.outcome
    }

    fn end(&mut self, end: End) -> Event {
        self.phase = Phase::Done;
        self.receipts.close(false);
        self.outcome.receipts = std::mem::take(&mut self.receipts.done);
        if let End::Aborted(rc) = end {
            self.outcome.result_code = Some(rc);
        } else if end == End::Completed && self.outcome.result_code.is_none() && self.completes {
            self.outcome.result_code = Some(0);
        }
        self.outcome.end = end.clone();
        self.outcome.transcript = std::mem::take(&mut self.link.transcript);
        Event::End(end)
    }

    /// Answers `message` and says whether the exchange ends with it.
    async fn handle(&mut self, message: &PtMessage) -> Option<End> {
        if self.phase == Phase::AwaitAnswer {
            return self.handle_first_answer(message);
        }
        self.deadline = Instant::now() + self.t4;
        match message {
            PtMessage::Positive(_) | PtMessage::Negative(..)
                if self.abort_sent && self.outcome.abort_answer.is_none() =>
            {
                self.outcome.abort_answer = Some(message.clone());
                None
            }
            PtMessage::Intermediate(status) => {
                if let Some(minutes) = status.timeout_minutes {
                    self.t4 = Duration::from_secs(u64::from(minutes) * 60);
                    self.deadline = Instant::now() + self.t4;
                }
                self.outcome.intermediate.push(status.clone());
                self.answer(command::ack()).await
            }
            PtMessage::Status(info) => {
                self.outcome.result_code = info.result_code.or(self.outcome.result_code);
                self.outcome.status.push((**info).clone());
                self.answer_status().await
            }
            PtMessage::PrintLine(line) => {
                self.receipts.line(line);
                self.answer_receipt().await
            }
            PtMessage::TextBlock(block) => {
                self.receipts.block(block);
                self.answer_receipt().await
            }
            PtMessage::Completion(completion) => {
                self.outcome.completion = Some(completion.clone());
                self.answer(command::ack()).await.or(Some(End::Completed))
            }
            PtMessage::Abort { result_code, .. } => {
                self.answer(command::ack()).await.or(Some(End::Aborted(*result_code)))
            }
            PtMessage::Positive(_) | PtMessage::Negative(..) => {
                self.flag("an answer (80/84) from the PT while it is master, to no command");
                None
            }
            PtMessage::Other(_) => self.answer(command::nack(0x83)).await,
        }
    }

    fn handle_first_answer(&mut self, message: &PtMessage) -> Option<End> {
        self.outcome.first_answer = Some(message.clone());
        match message {
            PtMessage::Positive(_) if self.completes => {
                self.phase = Phase::AwaitPt;
                self.deadline = Instant::now() + self.t4;
                None
            }
            PtMessage::Positive(_) => Some(End::Completed),
            PtMessage::Negative(code, _) => Some(End::Refused(*code)),
            _ => {
                self.flag("the PT sent a command before answering the ECR's command with 80 00 / 84 xx");
                Some(End::Refused(0xFF))
            }
        }
    }

    fn flag(&mut self, why: &str) {
        let control = self.context.command;
        let kind = crate::violation::ViolationKind::Protocol(why.to_owned());
        self.link.transcript.violations.push(crate::violation::Violation { control, kind });
    }

    async fn answer_status(&mut self) -> Option<End> {
        match self.behaviour.status_answer {
            StatusAnswer::Ack => self.answer(command::ack()).await,
            StatusAnswer::Positive84 => self.answer(command::nack(0x00)).await,
            StatusAnswer::PleaseWait(_) if self.please_wait_left > 0 => {
                self.please_wait_left -= 1;
                self.answer(command::nack(0x9C)).await
            }
            StatusAnswer::PleaseWait(_) => self.answer(command::ack()).await,
            StatusAnswer::Negative(code) => self.answer(command::nack(code)).await,
            StatusAnswer::Silent => None,
            StatusAnswer::Close => {
                self.link.close().await;
                Some(End::ClosedByRegister)
            }
        }
    }

    async fn answer_receipt(&mut self) -> Option<End> {
        if self.behaviour.rearm_t4_on_every_message {
            self.deadline = Instant::now() + self.t4;
        }
        match self.behaviour.receipt_answer {
            ReceiptAnswer::Ack => self.answer(command::ack()).await,
            ReceiptAnswer::PrinterNotReady => self.answer(command::nack(0xCC)).await,
            ReceiptAnswer::Silent => None,
        }
    }

    /// Sends an answer after the behaviour's delay; an end if the line failed.
    async fn answer(&mut self, apdu: Apdu) -> Option<End> {
        if !self.behaviour.answer_delay.is_zero() {
            tokio::time::sleep(self.behaviour.answer_delay).await;
        }
        self.link.send(&apdu, &WriteFaults::default()).await.err().map(|e| end_of_link_error(e, Timer::T4))
    }
}

fn end_of_link_error(error: LinkError, timer: Timer) -> End {
    match error {
        LinkError::Timeout => End::TimedOut(timer),
        LinkError::Closed => End::ConnectionClosed,
        other => End::LinkFailed(other.to_string()),
    }
}

fn empty_outcome() -> Outcome {
    Outcome {
        first_answer: None,
        abort_answer: None,
        intermediate: Vec::new(),
        status: Vec::new(),
        receipts: Vec::new(),
        completion: None,
        end: End::Completed,
        result_code: None,
        transcript: Transcript::default(),
    }
}
