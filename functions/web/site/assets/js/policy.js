// Seed 001's password rules, checked as the user types. The server's
// answer is the one that counts: it also refuses common passwords and the
// current one.

const symbols = "@#$%^&*-!+=[]{}|¥:',.?/`~\"();\\";

const kinds = (s) => {
  let lower = 0, upper = 0, digit = 0, symbol = 0;
  for (const c of s) {
    if (c >= 'a' && c <= 'z') lower = 1;
    else if (c >= 'A' && c <= 'Z') upper = 1;
    else if (c >= '1' && c <= '9') digit = 1;
    else if (symbols.includes(c)) symbol = 1;
  }
  return lower + upper + digit + symbol;
};

/** check returns each rule's result for password pw of the user userId. */
export function check(pw, userId) {
  const chars = [...pw];
  let repeat = false;
  for (let i = 2; i < chars.length; i++) if (chars[i] === chars[i - 1] && chars[i] === chars[i - 2]) repeat = true;
  return {
    length: chars.length >= 8 && chars.length <= 30,
    chars: chars.length > 0 && chars.every((c) => /[a-zA-Z1-9]/.test(c) || symbols.includes(c)),
    classes: kinds(pw) >= 3,
    repeat: chars.length > 0 && !repeat,
    userid: pw.length > 0 && pw !== userId,
  };
}

/** watch ticks the rules listed in list as input changes. */
export function watch(input, list, userId = () => '') {
  const update = () => {
    const result = check(input.value, userId());
    for (const li of list.querySelectorAll('[data-rule]')) {
      const ok = result[li.dataset.rule];
      li.classList.toggle('ok', input.value !== '' && ok);
      li.classList.toggle('ng', input.value !== '' && !ok);
    }
  };
  input.addEventListener('input', update);
  update();
}
