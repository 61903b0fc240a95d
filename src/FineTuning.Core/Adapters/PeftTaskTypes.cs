namespace FineTuning.Adapters;

/// <summary>PEFT's <c>task_type</c> values (<c>peft.TaskType</c>) that FineTuning's models report through <see cref="Models.IPretrainedModel"/>.</summary>
public static class PeftTaskTypes
{
    /// <summary>A causal language model (LLaMA family, GPT-2).</summary>
    public const string CausalLM = "CAUSAL_LM";

    /// <summary>A sequence classifier (BERT with a classification head).</summary>
    public const string SequenceClassification = "SEQ_CLS";

    /// <summary>An encoder that returns hidden states or embeddings (plain BERT).</summary>
    public const string FeatureExtraction = "FEATURE_EXTRACTION";
}
