//! Asset directory model and loader; reconcile plan and apply against LlamaStack.
