//! Live heap accounting, so tests can prove that closed connections are freed (issue #7): the
//! global allocator is the default one wrapped in two counters, and `__heapStats()` reports them
//! with the number of live `PeerConnectionHandle`s and the size of linear memory. Linear memory
//! never shrinks, so its size alone cannot show a leak; the live byte count can. The counters
//! cost two additions per allocation (wasm32 without threads has no atomic read-modify-write
//! cost), so they are always on rather than a separate test build.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use wasm_bindgen::prelude::*;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// `PeerConnectionHandle`s constructed and not yet freed (handle.rs counts them).
pub(crate) static LIVE_HANDLES: AtomicUsize = AtomicUsize::new(0);

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Counting;

// SAFETY: every call is forwarded unchanged to `System`; the counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Relaxed);
            LIVE_ALLOCATIONS.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Relaxed);
            LIVE_ALLOCATIONS.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        LIVE_ALLOCATIONS.fetch_sub(1, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Test hook: `{ liveBytes, liveAllocations, handles, memoryBytes }` of this instance.
#[wasm_bindgen(js_name = __heapStats)]
pub fn heap_stats() -> js_sys::Object {
    let out = js_sys::Object::new();
    let memory_bytes = wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0.0, |b| f64::from(b.byte_length()));
    for (key, value) in [
        ("liveBytes", LIVE_BYTES.load(Relaxed) as f64),
        ("liveAllocations", LIVE_ALLOCATIONS.load(Relaxed) as f64),
        ("handles", LIVE_HANDLES.load(Relaxed) as f64),
        ("memoryBytes", memory_bytes),
    ] {
        // Setting a plain data property on a fresh object cannot fail.
        let _ = js_sys::Reflect::set(&out, &key.into(), &value.into());
    }
    out
}
