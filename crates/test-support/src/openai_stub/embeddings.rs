//! Embeddings: deterministic bag-of-words vectors.

use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::{EMBEDDING_DIMENSION, EMBEDDING_MODEL, Shared, bad_request, json_response, parse};

/// Deterministic unit vector: every lower-cased alphanumeric word adds ±1
/// to a bucket chosen by its FNV-1a hash.
pub fn embed(text: &str, dimension: usize) -> Vec<f32> {
    let dimension = dimension.max(1);
    let mut vector = vec![0f32; dimension];
    let words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty());
    let mut any = false;
    for word in words {
        any = true;
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in word.to_lowercase().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let bucket = usize::try_from(hash % dimension as u64).unwrap_or(0);
        vector[bucket] += if hash & (1 << 63) == 0 { 1.0 } else { -1.0 };
    }
    if !any {
        vector[0] = 1.0;
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut vector {
            *x /= norm;
        }
    } else {
        vector[0] = 1.0;
    }
    vector
}

pub(super) async fn embeddings(State(state): State<Shared>, body: String) -> Response {
    let body = match parse(&body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let inputs: Vec<String> = match &body["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => return bad_request("input must be a string or a list"),
    };
    let dimension = body["dimensions"]
        .as_u64()
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(EMBEDDING_DIMENSION);
    let base64 = body["encoding_format"] == "base64";
    if let Ok(mut log) = state.log.lock() {
        log.embedded_inputs += inputs.len();
    }
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = embed(text, dimension);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens: usize = inputs.iter().map(|t| t.split_whitespace().count()).sum();
    json_response(&json!({
        "object": "list",
        "data": data,
        "model": body["model"].as_str().unwrap_or(EMBEDDING_MODEL),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_unit_vectors_and_similar_for_shared_words() {
        let a = embed("laptop refresh policy", 384);
        let b = embed("the laptop refresh", 384);
        let c = embed("password reset", 384);
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
        assert!(dot(&a, &b) > dot(&a, &c));
    }
}
