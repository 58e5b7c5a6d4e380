use super::*;
use zeroize::Zeroizing;

fn journal() -> (tempfile::TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let j = Journal::open(&dir.path().join("posagent.db")).unwrap_or_else(|e| panic!("{e}"));
    (dir, j)
}

fn change(id: &str, role: Role, pin: Option<&str>) -> CashierChange {
    CashierChange {
        id: id.into(),
        name: format!("Cashier {id}"),
        role,
        active: true,
        pin: pin.map(|p| Zeroizing::new(p.to_string())),
    }
}

#[tokio::test]
async fn a_cashier_signs_in_with_the_pin_and_only_with_it() {
    let (_d, j) = journal();
    let staff = Staff::new(j.clone());
    let (c, new) = staff.put(change("7", Role::Cashier, Some("4071"))).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(new);
    assert_eq!(staff.sign_in("7", Zeroizing::new("4071".into())).await.map(|c| c.id).ok(), Some(c.id));
    assert!(matches!(staff.sign_in("7", Zeroizing::new("4072".into())).await, Err(StaffError::WrongPin)));
    assert!(matches!(staff.sign_in("8", Zeroizing::new("4071".into())).await, Err(StaffError::WrongPin)));
    // A PIN that cannot be one is refused as a wrong one (and never hashed as given).
    let huge = Zeroizing::new("4071".repeat(100_000));
    assert!(matches!(staff.sign_in("7", huge).await, Err(StaffError::WrongPin)));
    assert!(matches!(staff.approve("7", Zeroizing::new("4071".into())).await, Err(StaffError::NotSupervisor(_))));
    // The hash is stored, never the PIN.
    let stored = j.credentials("7".into()).await.unwrap_or_default().map(|c| c.pin_hash).unwrap_or_default();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    assert!(!stored.contains("4071"));
}

#[tokio::test]
async fn five_wrong_pins_lock_the_cashier_and_a_new_pin_unlocks() {
    let (_d, j) = journal();
    let staff = Staff::new(j);
    staff.put(change("3", Role::Supervisor, Some("9052"))).await.unwrap_or_else(|e| panic!("{e}"));
    for n in 1..LOCK_AFTER {
        let r = staff.sign_in("3", Zeroizing::new("1111".into())).await;
        assert!(matches!(r, Err(StaffError::WrongPin)), "attempt {n}: {r:?}");
    }
    assert!(matches!(staff.sign_in("3", Zeroizing::new("1111".into())).await, Err(StaffError::Locked { .. })));
    // Locked: even the right PIN is refused.
    assert!(matches!(staff.sign_in("3", Zeroizing::new("9052".into())).await, Err(StaffError::Locked { .. })));
    staff.put(change("3", Role::Supervisor, Some("6170"))).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(staff.approve("3", Zeroizing::new("6170".into())).await.is_ok());
}

#[tokio::test]
async fn bad_cashiers_and_pins_are_refused_before_anything_is_written() {
    let (_d, j) = journal();
    let staff = Staff::new(j.clone());
    for (c, field) in [
        (change("07", Role::Cashier, Some("4071")), "id"),
        (change("7", Role::Cashier, Some("1234")), "pin"),
        (change("7", Role::Cashier, Some("0000")), "pin"),
        (change("7", Role::Cashier, Some("12a4")), "pin"),
        (change("7", Role::Cashier, None), "pin"),
        (CashierChange { name: "Eve\u{1b}[2J".into(), ..change("7", Role::Cashier, Some("4071")) }, "name"),
    ] {
        match staff.put(c).await {
            Err(StaffError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(j.cashiers().await.unwrap_or_else(|e| panic!("{e}")).is_empty());
}

#[test]
fn pin_forms() {
    for ok in ["4071", "90521", "13572468"] {
        assert!(check_pin_form(ok).is_ok(), "{ok}");
    }
    for bad in ["", "123", "123456789", "1111", "4321", "5678", "12 4", "١٢٣٤"] {
        assert!(check_pin_form(bad).is_err(), "{bad}");
    }
}
