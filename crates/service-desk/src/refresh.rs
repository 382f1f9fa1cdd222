//! The rules for opening a laptop refresh request, whatever the desk:
//!
//! 1. the same call repeated within the idempotency window (LlamaStack
//!    retrying, the model calling twice) gives back the request the first
//!    one opened: per employee and model, and concurrent calls wait for
//!    each other;
//! 2. with duplicate avoidance on, an open request for the same model is
//!    answered instead of a new one;
//! 3. with a limit, an employee with that many open requests gets none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{DeskError, Employee, LaptopOrder, RefreshRequest, TicketDesk};

/// `SERVICENOW_LAPTOP_REQUEST_LIMITS`, `SERVICENOW_LAPTOP_AVOID_DUPLICATES`,
/// `TICKET_IDEMPOTENCY_WINDOW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    /// The most open requests one employee may have.
    pub request_limit: Option<usize>,
    pub avoid_duplicates: bool,
    pub idempotency_window: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            request_limit: None,
            avoid_duplicates: false,
            idempotency_window: Duration::from_secs(300),
        }
    }
}

/// What opening a request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    New(RefreshRequest),
    /// A request already there: a repeated call, or an open request for the
    /// same model.
    Existing(RefreshRequest),
}

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, RefreshRequest)>>>;

pub struct LaptopRefresh {
    desk: Arc<dyn TicketDesk>,
    policy: RefreshPolicy,
    recent: Mutex<HashMap<(String, String), Slot>>,
}

impl LaptopRefresh {
    pub fn new(desk: Arc<dyn TicketDesk>, policy: RefreshPolicy) -> Self {
        Self {
            desk,
            policy,
            recent: Mutex::new(HashMap::new()),
        }
    }

    pub fn desk(&self) -> &Arc<dyn TicketDesk> {
        &self.desk
    }

    pub async fn open(
        &self,
        employee: &Employee,
        order: &LaptopOrder,
    ) -> Result<Opened, DeskError> {
        let slot = self.slot(employee, order);
        let mut slot = slot.lock().await;
        if let Some((at, request)) = slot.as_ref()
            && at.elapsed() < self.policy.idempotency_window
        {
            tracing::info!(employee = %employee.id, number = %request.number, "repeated call: answering the request it opened");
            return Ok(Opened::Existing(request.clone()));
        }
        let open = self.desk.open_requests(employee).await?;
        if self.policy.avoid_duplicates
            && let Some(existing) = open
                .iter()
                .find(|request| same_model(&request.preferred_model, &order.preferred_model))
        {
            return Ok(Opened::Existing(existing.clone()));
        }
        if let Some(limit) = self.policy.request_limit
            && open.len() >= limit
        {
            let numbers: Vec<&str> = open.iter().map(|r| r.number.as_str()).collect();
            return Err(DeskError::Refused(format!(
                "{} already has {} open laptop request(s) ({}), the most allowed is {limit}; \
                 no new request was opened",
                employee.name,
                open.len(),
                numbers.join(", ")
            )));
        }
        let request = self.desk.order(employee, order).await?;
        *slot = Some((Instant::now(), request.clone()));
        Ok(Opened::New(request))
    }

    fn slot(&self, employee: &Employee, order: &LaptopOrder) -> Slot {
        let key = (
            employee.id.to_ascii_lowercase(),
            normalized(&order.preferred_model),
        );
        let window = self.policy.idempotency_window;
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget expired entries nobody is waiting on, so the map stays small.
        recent.retain(|_, slot| {
            Arc::strong_count(slot) > 1
                || slot
                    .try_lock()
                    .map(|entry| entry.as_ref().is_some_and(|(at, _)| at.elapsed() < window))
                    .unwrap_or(true)
        });
        Arc::clone(recent.entry(key).or_default())
    }
}

fn normalized(model: &str) -> String {
    model
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn same_model(a: &str, b: &str) -> bool {
    normalized(a) == normalized(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmployeeDirectory as _;
    use crate::demo::{DemoDesk, DemoDirectory};

    async fn alice() -> Employee {
        DemoDirectory::builtin()
            .find("1001")
            .await
            .unwrap()
            .unwrap()
    }

    fn order(model: &str) -> LaptopOrder {
        LaptopOrder {
            preferred_model: model.into(),
            business_justification: "old".into(),
        }
    }

    fn refresh(policy: RefreshPolicy) -> LaptopRefresh {
        LaptopRefresh::new(Arc::new(DemoDesk::default()), policy)
    }

    /// `refresh` asked for a `model` for `employee`.
    async fn open(
        refresh: &LaptopRefresh,
        employee: &Employee,
        model: &str,
    ) -> Result<Opened, DeskError> {
        refresh.open(employee, &order(model)).await
    }

    #[tokio::test]
    async fn a_repeated_call_answers_the_first_request() {
        let refresh = refresh(RefreshPolicy::default());
        let employee = alice().await;
        let Opened::New(first) = open(&refresh, &employee, "Dell Latitude 7450")
            .await
            .unwrap()
        else {
            panic!("the first call opens a request")
        };
        let again = open(&refresh, &employee, " dell  latitude 7450")
            .await
            .unwrap();
        assert_eq!(again, Opened::Existing(first));
        assert_eq!(
            refresh.desk().open_requests(&employee).await.unwrap().len(),
            1
        );
    }

    #[tokio::test]
    async fn concurrent_identical_calls_open_one_request() {
        let refresh = Arc::new(refresh(RefreshPolicy::default()));
        let employee = alice().await;
        let calls = (0..4).map(|_| {
            let (refresh, employee) = (Arc::clone(&refresh), employee.clone());
            tokio::spawn(async move { open(&refresh, &employee, "Dell Latitude 7450").await })
        });
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(
            refresh.desk().open_requests(&employee).await.unwrap().len(),
            1
        );
    }

    #[tokio::test]
    async fn after_the_window_a_new_request_is_opened() {
        let refresh = refresh(RefreshPolicy {
            idempotency_window: Duration::ZERO,
            ..RefreshPolicy::default()
        });
        let employee = alice().await;
        open(&refresh, &employee, "Dell Latitude 7450")
            .await
            .unwrap();
        let second = open(&refresh, &employee, "Dell Latitude 7450")
            .await
            .unwrap();
        assert!(matches!(second, Opened::New(_)), "{second:?}");
    }

    #[tokio::test]
    async fn the_limit_refuses_one_request_too_many() {
        let refresh = refresh(RefreshPolicy {
            request_limit: Some(1),
            ..RefreshPolicy::default()
        });
        let employee = alice().await;
        open(&refresh, &employee, "Dell Latitude 7450")
            .await
            .unwrap();
        let error = open(&refresh, &employee, "Apple MacBook Air 13")
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("the most allowed is 1"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn duplicate_avoidance_answers_the_open_request_for_the_model() {
        let refresh = refresh(RefreshPolicy {
            avoid_duplicates: true,
            idempotency_window: Duration::ZERO,
            ..RefreshPolicy::default()
        });
        let employee = alice().await;
        let Opened::New(first) = open(&refresh, &employee, "Dell Latitude 7450")
            .await
            .unwrap()
        else {
            panic!("opened")
        };
        let again = open(&refresh, &employee, "Dell Latitude 7450")
            .await
            .unwrap();
        assert_eq!(again, Opened::Existing(first));
    }
}
