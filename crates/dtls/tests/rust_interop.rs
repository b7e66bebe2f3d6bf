#[test]
fn placeholder() {
    let _ = dimpl::certificate::generate_self_signed_certificate();
}
