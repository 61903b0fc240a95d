using FineTuning.Models.Tokenizers;

namespace FineTuning.Models.HuggingFace;

/// <summary>What <see cref="HfCheckpoint.Save(TorchSharp.torch.nn.Module, string, HfSaveOptions?)"/> writes besides the weights.</summary>
public sealed class HfSaveOptions
{
    /// <summary>
    /// Largest data size of one weights file; above it the weights are written as shards
    /// <c>model-00001-of-0000N.safetensors</c> plus <c>model.safetensors.index.json</c>, as Hugging Face does. Default
    /// <see cref="HfCheckpoint.DefaultMaxShardBytes"/> (5 GB).
    /// </summary>
    public long MaxShardBytes { get; set; } = HfCheckpoint.DefaultMaxShardBytes;

    /// <summary>
    /// Replace an existing non-empty folder (its previous content is deleted once the new folder is complete). Default
    /// false: saving into a non-empty folder is refused, so a checkpoint is never mixed with older files.
    /// </summary>
    public bool Overwrite { get; set; }

    /// <summary>
    /// The model's tokenizer, written as <c>tokenizer.json</c> + <c>tokenizer_config.json</c> (and its BOS/EOS ids in
    /// <c>generation_config.json</c>): an <see cref="HfTokenizer"/> writes back the files it was read from; a
    /// <see cref="Llama2CTokenizer"/> is converted (BPE with byte fallback, as HF's LLaMA tokenizer). Null: no tokenizer
    /// files.
    /// </summary>
    public ITokenizer? Tokenizer { get; set; }

    /// <summary>
    /// A Jinja chat template for <c>tokenizer_config.json</c>'s <c>chat_template</c> (what <c>apply_chat_template</c>
    /// renders); null keeps the one the tokenizer came with, if any. Needs <see cref="Tokenizer"/>.
    /// </summary>
    public string? ChatTemplate { get; set; }
}
