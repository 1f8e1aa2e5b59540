"""The zero-shot genre model built from pretrained parts: its classes, its heads, its export.

Shared by build.py (the real parts: MSD musicnn and all-MiniLM-L6-v2) and by
tests/fixtures/real_multimodal/generate.py (tiny random parts of the same shapes), so the CI
fixture and the real model are the same model up to the encoders' weights.

The model (docs/real-multimodal.md is its model card):

    audio:  musicnn's 50 MSD tag probabilities p (audio_encoder.onnx on each 3 s patch, averaged
            over the clip's patches by musiclime: `patching` in the yaml)
            a_c = log(p_c / (1 - p_c)) for each class's tag: the single-label distribution of
            independent taggers conditioned on exactly one genre being on is softmax(a)
    lyrics: e = the sentence embedding of the lyrics (mean-pooled, L2-normalised MiniLM)
            t_c = SCALE * cos(e, g_c), g_c the embedding of the class's prompt
    fusion: logits = a + t, so softmax(logits) is the normalised product of the two experts
            softmax(a) * softmax(t)

The lyrics-only model keeps t: the unimodal model of the same lyrics expert, for the paper's
comparison (see write_yamls for the audio expert).
"""

from pathlib import Path

import torch

# The genre tags among MSD musicnn's 50 (musicnn.configuration.MSD_LABELS spelling), in this order.
CLASSES = ["rock", "pop", "alternative", "indie", "electronic", "jazz", "metal", "soul", "folk",
           "punk", "blues", "country", "Hip-Hop", "funk", "rnb"]
# How a class is said in its prompt (the tag otherwise).
SPOKEN = {"Hip-Hop": "hip hop", "rnb": "r&b"}
PROMPT = "This is a {} song."
# all-MiniLM-L6-v2 was fine-tuned with a contrastive loss on cosine similarities; 20 is
# sentence-transformers' MultipleNegativesRankingLoss scale (its default), so softmax(20 cos)
# is the posterior over candidates that such a loss trains.
SCALE = 20.0
# Clamp of the tag probabilities before the log-odds.
EPS = 1e-6
OPSET = 17


def prompts() -> list[str]:
    return [PROMPT.format(SPOKEN.get(c, c)) for c in CLASSES]


def tag_indices(tags: list[str]) -> list[int]:
    """Where each class sits in the audio encoder's tag list."""
    missing = [c for c in CLASSES if c not in tags]
    if missing:
        raise SystemExit(f"the audio encoder's tags lack {missing}")
    return [tags.index(c) for c in CLASSES]


class SentenceEncoder(torch.nn.Module):
    """A BERT encoder as sentence-transformers runs all-MiniLM-L6-v2: mean over the real tokens,
    L2-normalised. `token_type_ids` are zeros (one segment), built inside the graph, so the ONNX
    graph reads `input_ids` and `attention_mask` only."""

    def __init__(self, bert, attentions: bool = False):
        super().__init__()
        self.bert, self.attentions = bert, attentions

    def forward(self, input_ids, attention_mask):
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                        token_type_ids=torch.zeros_like(input_ids),
                        output_attentions=self.attentions, return_dict=True)
        if self.attentions:
            return torch.stack(list(out.attentions))  # [layers, batch, heads, query, key]
        mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
        pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2.0, dim=1)


class AudioExpert(torch.nn.Module):
    """Tag probabilities → the classes' log-odds."""

    def __init__(self, indices: list[int]):
        super().__init__()
        self.register_buffer("indices", torch.tensor(indices, dtype=torch.long))

    def forward(self, tags):
        p = tags.index_select(1, self.indices).clamp(EPS, 1.0 - EPS)
        return torch.log(p) - torch.log1p(-p)


class TextExpert(torch.nn.Module):
    """Sentence embedding → SCALE × cosine to each class prompt's embedding."""

    def __init__(self, prompt_embeddings: torch.Tensor):
        super().__init__()
        self.register_buffer("prompts", prompt_embeddings.detach().clone())

    def forward(self, text_embedding):
        return SCALE * text_embedding @ self.prompts.T


class ProductOfExperts(torch.nn.Module):
    def __init__(self, audio: AudioExpert, text: TextExpert):
        super().__init__()
        self.audio, self.text = audio, text

    def forward(self, tags, text_embedding):
        return self.audio(tags) + self.text(text_embedding)


def prompt_embeddings(encoder: SentenceEncoder, tokenizer, max_length: int) -> torch.Tensor:
    ids, mask = encode(tokenizer, prompts(), max_length)
    with torch.no_grad():
        return encoder(ids, mask)


def encode(tokenizer, texts: list[str], max_length: int):
    """Token ids and attention mask as musiclime builds them (src/model/onnx/text.rs):
    tokenizer.json with its special tokens, truncated and padded with 0 ([PAD]) to max_length."""
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(length=max_length, pad_id=0)
    rows = tokenizer.encode_batch(texts)
    ids = torch.tensor([r.ids for r in rows], dtype=torch.long)
    mask = torch.tensor([r.attention_mask for r in rows], dtype=torch.long)
    return ids, mask


def heads(encoder: SentenceEncoder, tokenizer, max_length: int, tags: list[str]):
    """The three heads: (fusion, audio-only, lyrics-only)."""
    audio = AudioExpert(tag_indices(tags))
    text = TextExpert(prompt_embeddings(encoder, tokenizer, max_length))
    return ProductOfExperts(audio, text), audio, text


def export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
           dynamic: dict):
    import onnx

    module.eval()
    torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                      dynamic_axes=dynamic, opset_version=OPSET, dynamo=False,
                      do_constant_folding=True)
    onnx.checker.check_model(str(path))


def export_text_and_heads(bert, tokenizer, max_length: int, tags: list[str], out: Path,
                          embedding_width: int):
    """text_encoder.onnx, text_attention.onnx, fusion.onnx and text_head.onnx."""
    encoder = SentenceEncoder(bert).eval()
    fusion, audio, text = heads(encoder, tokenizer, max_length, tags)
    ids, mask = encode(tokenizer, ["a first line of lyrics", "a second, longer line of lyrics"],
                       max_length)
    seq = {0: "batch", 1: "sequence"}
    export(encoder, (ids, mask), out / "text_encoder.onnx", ["input_ids", "attention_mask"],
           ["text_embedding"], {"input_ids": seq, "attention_mask": seq, "text_embedding": {0: "batch"}})
    export(SentenceEncoder(bert, attentions=True).eval(), (ids, mask), out / "text_attention.onnx",
           ["input_ids", "attention_mask"], ["text_attentions"],
           {"input_ids": seq, "attention_mask": seq, "text_attentions": {1: "batch", 3: "query", 4: "key"}})
    tags_example = torch.rand(2, len(tags))
    emb = torch.nn.functional.normalize(torch.randn(2, embedding_width), dim=1)
    batch = {0: "batch"}
    export(fusion, (tags_example, emb), out / "fusion.onnx", ["tags", "text_embedding"], ["logits"],
           {"tags": batch, "text_embedding": batch, "logits": batch})
    export(text, (emb,), out / "text_head.onnx", ["text_embedding"], ["logits"],
           {"text_embedding": batch, "logits": batch})
    return encoder, fusion, audio, text


LOG_MEL = """\
  # musicnn's input: 16 kHz, librosa mel power (n_fft 512, hop 256, 96 Slaney bands), log10(1 +
  # 10000 x); reflect padding as the librosa 0.7 musicnn was trained with.
  - name: melspectrogram
    kind: log_mel
    sample_rate: 16000
    n_fft: 512
    hop_length: 256
    n_mels: 96
    center: true
    pad_mode: reflect
    power: 2.0
    mel_scale: slaney
    mel_norm: slaney
    log: log10_scaled
    log_scale: 10000.0
    layout: [frames, mels]
"""

TOKENS = """\
  # all-MiniLM-L6-v2's WordPiece tokenizer ([CLS] ... [SEP]); sentence-transformers' max_seq_length.
  - name: input_ids
    kind: token_ids
    tokenizer: tokenizer.json
    max_length: {max_length}
    pad_id: 0
  - {{name: attention_mask, kind: attention_mask, of: input_ids}}
"""

ATTENTION = """\
  attention:
    - name: text_attentions
      modality: lyrics
      layout: [layers, batch, heads, query, key]
      keys: {special: 1}   # [CLS] leads; [SEP] follows the last real token
"""


PATCHING = """\
# The audio encoder reads 3 s patches (187 frames; the last aligned to the clip's end) and its
# tag probabilities are averaged over a clip's patches before the fusion, as musicnn's clip-level
# output; the text encoder and the fusion run once per clip.
patching: {frames: 187, hop: 187, reduce: mean}
max_batch: 16    # patches per ONNX Runtime run: about 50 MB each
"""


def write_yamls(out: Path, header: str, max_length: int):
    """model.yaml (audio + lyrics) and lyrics_only.yaml (the lyrics expert alone). The audio
    expert alone is not written as a model: without a text encoder, musiclime would average a
    patched model's class probabilities over patches, not the tags before the head."""
    classes = "[" + ", ".join(CLASSES) + "]"
    common = f"{header}classes: {classes}\ninputs:\n"
    tokens = TOKENS.format(max_length=max_length)
    files = {
        "model.yaml": (
            "stages:\n"
            "  - {onnx: audio_encoder.onnx, inputs: [melspectrogram], outputs: [tags]}\n"
            "  - {onnx: text_encoder.onnx, inputs: [input_ids, attention_mask], outputs: [text_embedding]}\n"
            "  - {onnx: text_attention.onnx, inputs: [input_ids, attention_mask], outputs: [text_attentions]}\n"
            "  - {onnx: fusion.onnx, inputs: [tags, text_embedding], outputs: [logits]}\n"
            + common + LOG_MEL + tokens + "outputs:\n  logits: logits\n" + ATTENTION + PATCHING),
        "lyrics_only.yaml": (
            "stages:\n"
            "  - {onnx: text_encoder.onnx, inputs: [input_ids, attention_mask], outputs: [text_embedding]}\n"
            "  - {onnx: text_attention.onnx, inputs: [input_ids, attention_mask], outputs: [text_attentions]}\n"
            "  - {onnx: text_head.onnx, inputs: [text_embedding], outputs: [logits]}\n"
            + common + tokens + "outputs:\n  logits: logits\n" + ATTENTION),
    }
    for name, text in files.items():
        (out / name).write_text(text)
    return list(files)
