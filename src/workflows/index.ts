export { serviceRequest } from './serviceRequest';
export { registration } from './registration';
