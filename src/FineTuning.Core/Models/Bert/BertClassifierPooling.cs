namespace FineTuning.Models.Bert;

/// <summary>How <see cref="BertForSequenceClassification"/> turns token states into one vector per sequence.</summary>
public enum BertClassifierPooling
{
    /// <summary>HF's default: the pooler (tanh(dense([CLS] state))); needs <c>pooler.dense.*</c> weights.</summary>
    Pooler,

    /// <summary>The raw [CLS] state, no pooler.</summary>
    Cls,

    /// <summary>The masked mean of all token states, as sentence-transformers embeds sentences; no pooler.</summary>
    Mean,
}
