//! Sampling as the asset directory writes it (`sampling_params: {strategy:
//! {type, temperature, top_p}, max_tokens}`, LlamaStack's agent shape),
//! and what it becomes in a Responses request.

use serde::{Deserialize, Serialize};

use super::responses::CreateResponse;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    #[serde(default)]
    pub strategy: SamplingStrategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SamplingStrategy {
    #[default]
    Greedy,
    TopP {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        temperature: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        top_p: Option<f64>,
    },
    TopK {
        top_k: u32,
    },
}

impl SamplingParams {
    /// Sets what the Responses API can express: greedy is temperature 0,
    /// top-p its temperature and `top_p`, `max_tokens` above 0 the
    /// `max_output_tokens`. Top-k, the repetition penalty and stop words
    /// have no Responses field and are left out.
    pub fn apply_to(&self, request: &mut CreateResponse) {
        match &self.strategy {
            SamplingStrategy::Greedy => request.temperature = Some(0.0),
            SamplingStrategy::TopP { temperature, top_p } => {
                request.temperature = *temperature;
                request.top_p = *top_p;
            }
            SamplingStrategy::TopK { .. } => {}
        }
        request.max_output_tokens = self
            .max_tokens
            .filter(|tokens| *tokens > 0)
            .map(|tokens| u32::try_from(tokens).unwrap_or(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_asset_shape_becomes_responses_fields() {
        let params: SamplingParams = serde_json::from_value(json!({
            "strategy": {"type": "top_p", "temperature": 0.1, "top_p": 0.9}, "max_tokens": 4000
        }))
        .expect("asset shape");
        let mut request = CreateResponse::new("m", Vec::new());
        params.apply_to(&mut request);
        assert_eq!(request.temperature, Some(0.1));
        assert_eq!(request.top_p, Some(0.9));
        assert_eq!(request.max_output_tokens, Some(4000));
    }

    #[test]
    fn greedy_is_temperature_zero_and_zero_tokens_is_no_limit() {
        let params: SamplingParams =
            serde_json::from_value(json!({"max_tokens": 0})).expect("defaults");
        let mut request = CreateResponse::new("m", Vec::new());
        params.apply_to(&mut request);
        assert_eq!(request.temperature, Some(0.0));
        assert_eq!(request.max_output_tokens, None);
    }
}
